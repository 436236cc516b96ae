"""Management API boundaries: secrets never cached, docs for staff only, bad input is a 400."""

import pytest
import responses
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_answers_that_carry_a_secret_are_not_stored_by_caches(api_client):
    created = api_client.post("/api/v1/sources/", {"name": "Shop", "provider": "github"})
    assert created.status_code == 201 and created.json()["secret"]
    assert created["Cache-Control"] == "no-store"
    rotated = api_client.post(f"/api/v1/sources/{created.json()['id']}/rotate-secret/", {})
    assert rotated.status_code == 200 and rotated.json()["secret"]
    assert rotated["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_schema_and_docs_are_for_staff_only(client, django_user_model, roles, path):
    end_user = django_user_model.objects.create_user("eve", password="pw-eve-12345")
    end_user.groups.add(Group.objects.get(name="end users"))
    client.force_login(end_user)
    assert client.get(path).status_code == 403
    support = django_user_model.objects.create_user("sue", password="pw-sue-12345")
    support.groups.add(Group.objects.get(name="support"))
    client.force_login(support)
    assert client.get(path).status_code == 200


def test_the_schema_names_its_enums(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    names = set(schema["components"]["schemas"])
    assert "DeliveryStatusEnum" in names and not any("C0d" in n for n in names)


# --- bad management input: a 400 with the field, never a 500, nothing a worker cannot run ----


@pytest.mark.parametrize("schedule", ["abc", {"a": 1}, [-5], ["x"], [1e300], list(range(25))])
def test_a_bad_retry_schedule_is_refused_by_the_api(api_client, schedule):
    response = api_client.post(
        "/api/v1/sources/",
        {"name": "x", "provider": "github", "retry_schedule": schedule},
        format="json",
    )
    assert response.status_code == 400 and "retry_schedule" in response.json()


def test_the_admin_refuses_the_same_schedules(client, admin_user):
    client.force_login(admin_user)
    form = {"name": "x", "provider": "github", "enabled": "on", "max_body_bytes": 1048576,
            "rate_limit": "600/m", "retention_days": 30, "signature_digest": "sha256",
            "handling": "built_in",
            "signature_encoding": "hex", "retry_schedule": "5, -1"}  # fmt: skip
    page = client.post("/admin/webhooks/source/add/", form)
    assert page.status_code == 200 and "waits in seconds" in page.content.decode()


def test_an_unknown_handling_is_refused_by_the_api_and_the_admin_alike(
    api_client, client, admin_user, make_source
):
    source, _ = make_source("github")
    answer = api_client.patch(f"/api/v1/sources/{source.pk}/", {"handling": "both"}, format="json")
    assert answer.status_code == 400 and "not a valid choice" in answer.json()["handling"][0]
    client.force_login(admin_user)
    form = {"name": "x", "provider": "github", "enabled": "on", "max_body_bytes": 1048576,
            "rate_limit": "600/m", "retention_days": 30, "signature_digest": "sha256",
            "signature_encoding": "hex", "handling": "both"}  # fmt: skip
    page = client.post("/admin/webhooks/source/add/", form)
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    from webhooks.models import Source

    source.refresh_from_db()
    assert source.handling == "built_in" and not Source.objects.filter(name="x").exists()


def test_a_stored_bad_schedule_never_sticks_a_delivery_in_processing(
    make_source, post_webhook, django_capture_on_commit_callbacks
):
    import uuid

    from webhooks.models import Delivery, Source
    from webhooks.processing import process

    from . import signers

    source, secret = make_source("generic")
    Source.objects.filter(pk=source.pk).update(retry_schedule="abc")  # around the validators
    body, headers = signers.make_generic(secret, str(uuid.uuid4()))
    pk = post_webhook(source, body, {**headers, "X-Event": "test.fail"}).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        process(pk)
    delivery = Delivery.objects.get(pk=pk)
    assert delivery.status == "retrying" and delivery.attempt_set.count() == 1


@pytest.mark.parametrize("rate", ["1/0s", "0/m", "abc", "5/x", "10/99999s"])
def test_a_bad_rate_is_refused_for_sources_and_connections(api_client, rate):
    source = api_client.post(
        "/api/v1/sources/", {"name": "x", "provider": "github", "rate_limit": rate}
    )
    assert source.status_code == 400 and "rate_limit" in source.json()
    connection = api_client.post(
        "/api/v1/connections/", {"name": "x", "provider": "stripe", "rate_limit": rate}
    )
    assert connection.status_code == 400 and "rate_limit" in connection.json()


def test_a_stored_bad_rate_fails_the_call_clearly(caplog):
    from connections.errors import ClientError
    from connections.models import Connection

    c = Connection.objects.create(name="Billing", provider="stripe")
    Connection.objects.filter(pk=c.pk).update(rate_limit="1/0s")
    c.refresh_from_db()
    with pytest.raises(ClientError, match="rate limit of 'Billing' is not valid"):
        c.client().get("/v1/balance")


@pytest.mark.parametrize("secret", ["sk_test\r\nX-Evil: 1", "clé-secrète", "sk\ttab"])
def test_credentials_that_cannot_go_in_a_header_are_refused(api_client, admin_user, client, secret):
    made = api_client.post(
        "/api/v1/connections/", {"name": "x", "provider": "stripe", "credentials": secret}
    )
    assert made.status_code == 400 and "credentials" in made.json()
    assert secret not in made.content.decode()
    client.force_login(admin_user)
    form = {"name": "x", "provider": "stripe", "enabled": "on", "new_credentials": secret}
    page = client.post("/admin/connections/connection/add/", form)
    assert page.status_code == 200 and "printable ASCII" in page.content.decode()


@pytest.mark.parametrize("name", ["X Sig", "X-Sig\r\nX-Evil", "X:Sig"])
def test_header_names_follow_the_http_grammar(api_client, name):
    made = api_client.post(
        "/api/v1/sources/",
        {"name": "x", "provider": "generic", "signature_header": name},
        format="json",
    )
    assert made.status_code == 400 and "signature_header" in made.json()
    made = api_client.post(
        "/api/v1/connections/",
        {"name": "x", "provider": "generic", "api_key_header": name, "auth_scheme": "api_key"},
    )
    assert made.status_code == 400 and "api_key_header" in made.json()


@responses.activate
def test_a_stored_credential_with_a_line_break_is_a_clear_error_not_a_500(api_client, caplog):
    from connections.models import Connection

    responses.get("https://api.stripe.com/v1/balance", json={})
    c = Connection.objects.create(name="Billing", provider="stripe")
    secret = "sk_test_leak\r\nX-Evil: 1"
    Connection.objects.filter(pk=c.pk).update(credentials=secret)  # around the validators
    answer = api_client.post(f"/api/v1/connections/{c.pk}/test/")
    assert answer.status_code == 200 and answer.json()["ok"] is False
    assert "not valid in HTTP" in answer.json()["message"]
    assert "sk_test_leak" not in answer.content.decode() and "sk_test_leak" not in caplog.text


def test_replay_ids_over_64_bits_are_a_400(api_client):
    answer = api_client.post("/api/v1/deliveries/replay/", {"ids": [2**64]}, format="json")
    assert answer.status_code == 400 and "ids" in answer.json()


def test_an_integration_page_with_a_bad_id_is_404(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/integrations/source/not-a-uuid/").status_code == 404
    assert client.get("/integrations/connection/abc/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_call_records_of_a_deleted_connection_do_not_lose_the_batch():
    from datetime import UTC, datetime

    from connections import recorder
    from connections.models import CallRecord, Connection

    kept = Connection.objects.create(name="kept", provider="stripe")
    gone = Connection.objects.create(name="gone", provider="stripe")
    for connection in (kept, gone, kept):
        recorder.record(recorder.Call(connection.pk, datetime.now(UTC), "GET", "/x", 200, 5, 1))
    gone.delete()
    assert recorder.flush() == 2
    assert CallRecord.objects.filter(connection=kept).count() == 2


@pytest.mark.parametrize(
    "value", ["3233-01-26T21:32:53+23:49", "0001-01-01T00:00:00+01:00", "not a time"]
)
def test_time_filters_never_reach_the_database_unchecked(api_client, value):
    answer = api_client.get("/api/v1/deliveries/", {"received_before": value})
    assert answer.status_code in (200, 400)
