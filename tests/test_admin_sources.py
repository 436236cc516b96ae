"""Admins register sources in the Django admin: the secret is shown once, then never."""

import re

import pytest

from webhooks.models import Delivery, Source

from . import signers

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def _add(admin_client_, **fields):
    data = {
        "name": "Payments",
        "provider": "github",
        "enabled": "on",
        "new_secret": "",
        "signature_digest": "sha256",
        "signature_encoding": "hex",
        "max_body_bytes": 1048576,
        "rate_limit": "6000/m",
        "handling": "built_in",
        "retention_days": 30,
        **fields,
    }
    return admin_client_.post("/admin/webhooks/source/add/", data)


def test_add_generates_a_secret_and_shows_it_once(admin_client_, client, delivery_id):
    response = _add(admin_client_)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = re.search(r'id="shown-secret"[^>]*>([^<]+)<', html).group(1)
    url = re.search(r'id="receiving-url"[^>]*>([^<]+)<', html).group(1)
    source = Source.objects.get()
    assert source.secret == secret
    assert url == f"http://testserver/webhooks/{source.pk}/"
    # The change page shows the URL but never the secret.
    page = admin_client_.get(f"/admin/webhooks/source/{source.pk}/change/").content.decode()
    assert url in page
    assert secret not in page
    # The secret works for a real delivery.
    body, headers = signers.make_github(secret, delivery_id())
    headers = dict(headers)
    ct = headers.pop("Content-Type")
    assert client.post(url, body, content_type=ct, **signers.as_meta(headers)).status_code == 202


def test_secret_is_encrypted_at_rest(admin_client_):
    _add(admin_client_, new_secret="a-secret-typed-by-the-admin")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_source")
        (raw,) = cursor.fetchone()
    assert "a-secret-typed-by-the-admin" not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert Source.objects.get().secret == "a-secret-typed-by-the-admin"


def test_invalid_secret_for_the_provider_is_a_form_error(admin_client_):
    response = _add(admin_client_, provider="standard", new_secret="not-base64!")
    assert response.status_code == 200
    assert "whsec_" in response.content.decode()
    assert not Source.objects.exists()


def test_rotate_from_the_admin_keeps_the_old_secret_for_the_grace_period(
    admin_client_, make_source
):
    source, old = make_source("github")
    confirm = admin_client_.get(f"/admin/webhooks/source/{source.pk}/rotate-secret/")
    assert confirm.status_code == 200
    response = admin_client_.post(f"/admin/webhooks/source/{source.pk}/rotate-secret/")
    new = re.search(r'id="shown-secret"[^>]*>([^<]+)<', response.content.decode()).group(1)
    source.refresh_from_db()
    assert source.valid_secrets() == [new, old]
    page = admin_client_.get(f"/admin/webhooks/source/{source.pk}/change/").content.decode()
    assert "previous secret verifies until" in page
    assert new not in page and old not in page


def test_typing_a_new_secret_on_the_change_page_rotates_it(admin_client_, make_source):
    source, old = make_source("stripe")
    response = admin_client_.post(
        f"/admin/webhooks/source/{source.pk}/change/",
        {
            "name": source.name,
            "enabled": "on",
            "new_secret": "whsec_rolled_in_stripe_dashboard",
            "signature_digest": "sha256",
            "signature_encoding": "hex",
            "max_body_bytes": 1048576,
            "rate_limit": "6000/m",
            "retention_days": 30,
            "handling": "built_in",
        },
    )
    assert response.status_code == 200
    source.refresh_from_db()
    assert source.valid_secrets() == ["whsec_rolled_in_stripe_dashboard", old]


def test_delivery_admin_shows_body_and_masked_headers(
    admin_client_, make_source, post_webhook, delivery_id
):
    source, secret = make_source("github")
    body, headers = signers.make_github(secret, delivery_id())
    delivery_pk = post_webhook(source, body, {**headers, "Authorization": "Bearer tok_zzz"}).json()[
        "id"
    ]
    listing = admin_client_.get("/admin/webhooks/delivery/")
    assert listing.status_code == 200
    page = admin_client_.get(f"/admin/webhooks/delivery/{delivery_pk}/change/").content.decode()
    assert "tok_zzz" not in page
    assert "refs/heads/master" in page
    assert Delivery.objects.count() == 1


def test_retry_schedule_must_be_a_list_of_seconds(admin_client_):
    response = _add(admin_client_, retry_schedule="5, soon")
    assert response.status_code == 200
    assert "comma-separated list of seconds" in response.content.decode()
    assert not Source.objects.exists()
    _add(admin_client_, retry_schedule="5, 60, 600")
    source = Source.objects.get()
    assert source.retry_delays() == [5, 60, 600]
    page = admin_client_.get(f"/admin/webhooks/source/{source.pk}/change/").content.decode()
    assert 'value="5, 60, 600"' in page


def test_delivery_changelist_never_counts_the_whole_log(admin_client_, make_source, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.HUB_ADMIN_COUNT_CAP = 10
    source, _ = make_source("github")
    Delivery.objects.bulk_create(
        [Delivery(source=source, provider="github", body=b"{}") for _ in range(30)]
    )
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_.get("/admin/webhooks/delivery/")
    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    filtered = admin_client_.get("/admin/webhooks/delivery/", {"status__exact": "queued"})
    assert filtered.status_code == 200
