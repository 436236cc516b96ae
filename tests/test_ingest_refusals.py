"""Every bad input gets a clear JSON error, is never processed, and support can see it."""

import pytest
from django.test import override_settings

from webhooks.models import Delivery

from . import signers

pytestmark = pytest.mark.django_db


def test_unknown_source_is_404_json(post_webhook, make_source, client):
    for path in ("/webhooks/00000000-0000-4000-8000-000000000000/", "/webhooks/not-a-uuid/"):
        response = client.post(path, b"{}", content_type="application/json")
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_source"
    assert not Delivery.objects.exists()


def test_disabled_source_is_404_and_stores_a_rejection(make_source, post_webhook, delivery_id):
    source, secret = make_source("github", enabled=False)
    response = post_webhook(source, *signers.make_github(secret, delivery_id()))
    assert response.status_code == 404
    assert not Delivery.objects.exclude(status="rejected").exists()


def test_wrong_method_is_405_json(make_source, client):
    source, _ = make_source("github")
    response = client.get(source.get_receive_path())
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert response.json()["error"] == "method_not_allowed"


def test_authentic_but_unparseable_body_is_400_and_kept_raw(make_source, post_webhook, delivery_id):
    source, secret = make_source("github")
    body = b'{"truncated": '
    response = post_webhook(source, *signers.make_github(secret, delivery_id(), body=body))
    assert response.status_code == 400
    assert response.json()["error"] == "unparseable_body"
    rejected = Delivery.objects.get(source=source)
    assert rejected.status == Delivery.Status.REJECTED
    assert bytes(rejected.body) == body


def test_rate_limit_answers_429_with_retry_after(make_source, post_webhook, delivery_id):
    source, secret = make_source("github", rate_limit="2/m")
    codes = [
        post_webhook(source, *signers.make_github(secret, delivery_id())).status_code
        for _ in range(3)
    ]
    assert codes[:2] == [202, 202]
    assert codes[2] == 429
    response = post_webhook(source, *signers.make_github(secret, delivery_id()))
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"] == "rate_limited"


def test_bad_content_length_is_400(make_source, client):
    source, _ = make_source("github")
    response = client.generic(
        "POST", source.get_receive_path(), b"{}", "application/json", CONTENT_LENGTH="abc"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_content_length"


def test_credentials_in_headers_are_masked(make_source, post_webhook, delivery_id):
    source, secret = make_source("github")
    body, headers = signers.make_github(secret, delivery_id())
    headers |= {"Authorization": "Bearer sk_live_do_not_store", "Cookie": "sessionid=abc123"}
    response = post_webhook(source, body, headers)
    stored = Delivery.objects.get(pk=response.json()["id"]).headers
    assert stored["Authorization"] == stored["Cookie"] == "********"
    assert "sk_live_do_not_store" not in str(stored)
    assert stored["X-Github-Event"] == "push"


@override_settings(HUB_REJECTED_STORE_PER_MINUTE=3)
def test_a_flood_of_bad_requests_stores_only_a_bounded_sample(make_source, post_webhook):
    source, _ = make_source("github")
    for _ in range(10):
        response = post_webhook(source, b"{}", {"X-Hub-Signature-256": "sha256=00"})
        assert response.status_code == 401
    assert Delivery.objects.filter(source=source, status="rejected").count() == 3


def test_rejected_request_does_not_squat_on_a_real_delivery_id(
    make_source, post_webhook, delivery_id
):
    source, secret = make_source("github")
    ext = delivery_id()
    body, headers = signers.make_github(secret, ext)
    forged = post_webhook(source, body, {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64})
    genuine = post_webhook(source, body, headers)
    assert (forged.status_code, genuine.status_code) == (401, 202)


def test_remote_address_is_recorded(make_source, post_webhook, delivery_id):
    source, secret = make_source("github")
    response = post_webhook(source, *signers.make_github(secret, delivery_id()))
    assert Delivery.objects.get(pk=response.json()["id"]).remote_addr == "127.0.0.1"
