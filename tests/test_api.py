"""The management API contract other tools script against (names must not change)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webhooks.models import Delivery, Source

from . import signers

pytestmark = pytest.mark.django_db


def test_create_source_shows_the_secret_once(api_client):
    response = api_client.post(
        "/api/v1/sources/", {"name": "Shop", "provider": "github"}, format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) >= {"id", "name", "provider", "url", "enabled", "secret"}
    assert data["url"] == f"http://testserver/webhooks/{data['id']}/"
    assert len(data["secret"]) >= 32
    assert Source.objects.get(pk=data["id"]).secret == data["secret"]
    # never again: not in detail, list or update answers
    detail = api_client.get(f"/api/v1/sources/{data['id']}/").json()
    listed = api_client.get("/api/v1/sources/").json()["results"]
    updated = api_client.patch(f"/api/v1/sources/{data['id']}/", {"name": "Shop 2"}, format="json")
    for body in (detail, listed, updated.json()):
        assert data["secret"] not in str(body)


def test_create_with_a_given_secret_and_a_usable_url(api_client, client, delivery_id):
    response = api_client.post(
        "/api/v1/sources/",
        {"name": "Stripe", "provider": "stripe", "secret": "whsec_given_by_stripe_123"},
        format="json",
    )
    data = response.json()
    assert data["secret"] == "whsec_given_by_stripe_123"
    body, headers = signers.make_stripe(data["secret"], delivery_id())
    headers = dict(headers)
    ct = headers.pop("Content-Type")
    posted = client.post(data["url"], body, content_type=ct, **signers.as_meta(headers))
    assert posted.status_code == 202


def test_invalid_source_gets_field_errors(api_client):
    bad = api_client.post(
        "/api/v1/sources/", {"name": "x", "provider": "standard", "secret": "nope"}, format="json"
    )
    assert bad.status_code == 400
    assert "secret" in bad.json()
    generic = api_client.post(
        "/api/v1/sources/", {"name": "x", "provider": "generic"}, format="json"
    )
    assert generic.status_code == 400
    assert "signature_header" in generic.json()
    unknown = api_client.post("/api/v1/sources/", {"name": "x", "provider": "fax"}, format="json")
    assert unknown.status_code == 400
    assert "provider" in unknown.json()
    assert not Source.objects.exists()


def test_rotate_secret_keeps_the_old_one_for_the_grace_period(api_client, make_source):
    source, old = make_source("github")
    response = api_client.post(f"/api/v1/sources/{source.pk}/rotate-secret/", {}, format="json")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new and new != old
    source.refresh_from_db()
    assert source.valid_secrets() == [new, old]
    assert response.json()["previous_secret_valid_until"]


def test_rotate_secret_with_zero_grace_drops_the_old_one(api_client, make_source):
    source, old = make_source("github")
    api_client.post(
        f"/api/v1/sources/{source.pk}/rotate-secret/", {"grace_seconds": 0}, format="json"
    )
    source.refresh_from_db()
    assert old not in source.valid_secrets()


def test_the_api_needs_a_staff_token(client, make_source, django_user_model):
    assert client.get("/api/v1/sources/").status_code == 401
    assert client.get("/api/v1/deliveries/").status_code == 401
    django_user_model.objects.create_user("plain", password="pw-plain-1234")
    client.login(username="plain", password="pw-plain-1234")
    assert client.get("/api/v1/deliveries/").status_code == 403


def _deliver(make_source, post_webhook, delivery_id, provider="github", n=1):
    source, secret = make_source(provider)
    make = getattr(signers, f"make_{provider}")
    ids = []
    for _ in range(n):
        ids.append(post_webhook(source, *make(secret, delivery_id())).json()["id"])
    return source, ids


def test_delivery_list_and_detail(api_client, make_source, post_webhook, delivery_id):
    source, ids = _deliver(make_source, post_webhook, delivery_id, n=3)
    listed = api_client.get("/api/v1/deliveries/").json()
    assert [d["id"] for d in listed["results"]] == sorted(ids, reverse=True)
    first = listed["results"][0]
    contract = "id source provider event_type external_id status received_at attempts"
    assert set(first) >= set(contract.split())
    assert "body" not in first
    detail = api_client.get(f"/api/v1/deliveries/{ids[0]}/").json()
    stored = Delivery.objects.get(pk=ids[0])
    assert detail["body"] == bytes(stored.body).decode()
    assert detail["headers"]["X-Github-Event"] == "push"
    assert detail["source"] == str(source.pk)
    assert detail["status"] == "queued"


def test_delivery_filters(api_client, make_source, post_webhook, delivery_id):
    gh, gh_ids = _deliver(make_source, post_webhook, delivery_id, "github", 2)
    st, st_ids = _deliver(make_source, post_webhook, delivery_id, "stripe", 1)
    post_webhook(gh, b"{}", {"X-Hub-Signature-256": "sha256=00"})  # one rejected

    def ids(**params):
        return {d["id"] for d in api_client.get("/api/v1/deliveries/", params).json()["results"]}

    assert ids(provider="stripe") == set(st_ids)
    assert ids(source=str(gh.pk), status="queued") == set(gh_ids)
    assert len(ids(status="rejected")) == 1
    assert ids(event_type="payment_intent.created") == set(st_ids)
    first = Delivery.objects.get(pk=min(gh_ids)).received_at
    assert ids(received_after=first.isoformat()) >= set(st_ids)
    assert ids(received_before=first.isoformat()) == set()
    bad = api_client.get("/api/v1/deliveries/", {"received_after": "yesterday"})
    assert bad.status_code == 400


def test_delivery_list_pages_without_counting_the_table(
    api_client, make_source, post_webhook, delivery_id
):
    _deliver(make_source, post_webhook, delivery_id, n=5)
    with CaptureQueriesContext(connection) as queries:
        page = api_client.get("/api/v1/deliveries/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    second = api_client.get(page["next"]).json()
    assert len(second["results"]) == 2


def test_openapi_schema_and_docs(api_client, admin_user, client):
    schema = api_client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/sources/{id}/rotate-secret/" in text
    assert "/api/v1/deliveries/" in text
    client.force_login(admin_user)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_the_schema_and_docs_need_a_signed_in_user(client):
    assert client.get("/api/schema/").status_code in (401, 403)
    assert client.get("/api/docs/").status_code in (302, 401, 403)
