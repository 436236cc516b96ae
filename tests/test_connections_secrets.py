"""Credentials are encrypted at rest, write-only in admin and API, and never appear in logs,
call records, error messages, stored tracebacks or pages."""

import logging
import re
import uuid

import pytest
import responses
from django.db import connection as db

from connections import recorder
from connections.models import CallRecord, Connection
from webhooks.models import Attempt
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db
SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


@pytest.fixture
def github(db):
    c = Connection(name="Octo org", provider="github")
    c.set_credentials(SECRET)
    c.save()
    return c


def test_credentials_are_encrypted_at_rest(github):
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM connections_connection WHERE id = %s", [github.pk])
        (raw,) = cursor.fetchone()
    assert SECRET not in raw and raw.startswith("gAAAA")


@responses.activate
def test_failures_leak_no_secret_to_logs_records_or_errors(github, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    responses.get("https://api.github.com/user", status=401, json={"message": "Bad credentials"})
    responses.get("https://api.github.com/search", status=500)
    client = github.client()
    with pytest.raises(Exception) as first:
        client.get("/user", params={"access_token": SECRET})
    with pytest.raises(Exception) as second:
        client.get("/search", params={"q": "x", "token": SECRET})
    recorder.flush()
    github.refresh_from_db()
    texts = [
        str(first.value),
        str(second.value),
        caplog.text,
        capsys.readouterr().err,
        github.last_error,
        github.status_reason,
        *CallRecord.objects.values_list("path", flat=True),
    ]
    for text in texts:
        assert SECRET not in text
    assert github.status == "needs_attention"


@responses.activate
def test_a_handler_error_that_carries_a_secret_is_stored_redacted(make_source, post_webhook):
    """A handler that calls out and fails: the attempt's message and traceback are clean."""
    from django.test import override_settings

    responses.get("https://api.github.com/user", status=403)
    github = Connection(name="Octo", provider="github")
    github.set_credentials(SECRET)
    github.save()
    source, secret = make_source("github", connection=github)
    body, headers = signers.make_github(secret, str(uuid.uuid4()))
    pk = post_webhook(source, body, headers).json()["id"]
    with override_settings(
        HUB_WEBHOOK_HANDLERS={"github": {"push": "tests.handlers.call_github_as_connection"}}
    ):
        process(pk)
    attempt = Attempt.objects.get(delivery_id=pk)
    assert attempt.error_class == "AuthFailed"
    assert "refused the credentials" in attempt.error_message
    assert SECRET not in attempt.error_message + attempt.traceback


def test_admin_and_api_never_show_credentials(client, admin_user, api_client, github):
    client.force_login(admin_user)
    page = client.get(f"/admin/connections/connection/{github.pk}/change/").content.decode()
    assert SECRET not in page and "Set (write-only)" in page
    listing = api_client.get("/api/v1/connections/").json()
    detail = api_client.get(f"/api/v1/connections/{github.pk}/").json()
    assert SECRET not in str(listing) + str(detail)
    assert detail["has_credentials"] is True and "credentials" not in detail


def test_api_creates_and_rotates_credentials_write_only(api_client):
    created = api_client.post(
        "/api/v1/connections/",
        {"name": "Payments", "provider": "stripe", "credentials": "sk_test_first_123456"},
        format="json",
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert "sk_test_first" not in str(data) and data["has_credentials"]
    rotated = api_client.post(
        f"/api/v1/connections/{data['id']}/rotate-credentials/",
        {"credentials": "sk_test_second_123456"},
        format="json",
    )
    assert rotated.status_code == 200 and "sk_test_second" not in str(rotated.json())
    assert Connection.objects.get(pk=data["id"]).credentials == "sk_test_second_123456"


@responses.activate
def test_admin_test_button_runs_the_health_check(client, admin_user, github):
    responses.get("https://api.github.com/rate_limit", json={"resources": {}})
    client.force_login(admin_user)
    response = client.post(f"/admin/connections/connection/{github.pk}/test/", follow=True)
    page = response.content.decode()
    assert re.search(r"Test passed: GET /rate_limit: HTTP 200", page)
    github.refresh_from_db()
    assert github.last_health_check_ok is True
    responses.replace(responses.GET, "https://api.github.com/rate_limit", status=401)
    page = client.post(f"/admin/connections/connection/{github.pk}/test/", follow=True)
    assert "Test failed: GET /rate_limit: AuthFailed" in page.content.decode()
    assert SECRET not in page.content.decode()


@responses.activate
def test_api_test_endpoint(api_client, github):
    responses.get("https://api.github.com/rate_limit", status=503)
    result = api_client.post(f"/api/v1/connections/{github.pk}/test/").json()
    assert result["ok"] is False and "ProviderUnavailable" in result["message"]


def test_admin_rotates_credentials_from_the_change_page(client, admin_user, github):
    client.force_login(admin_user)
    github.mark_needs_attention("refused")
    response = client.post(
        f"/admin/connections/connection/{github.pk}/change/",
        {"name": github.name, "provider": "github", "enabled": "on",
         "new_credentials": "ghp_newtoken_000000000000000000000000"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    github.refresh_from_db()
    assert github.credentials == "ghp_newtoken_000000000000000000000000"
    assert github.status == "healthy" and github.credentials_rotated_at
