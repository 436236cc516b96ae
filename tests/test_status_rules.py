"""Status rules cannot contradict the row they describe (hub/health.py)."""

import uuid

import pytest
import responses
from django.db import connection as db
from django.test import override_settings

from connections import checks as connection_health
from connections.models import Connection, ProviderOverride
from core import buffers
from hub import health
from webhooks.models import DeliveryRollup

from . import signers

pytestmark = pytest.mark.django_db


def _status(kind, pk):
    (item,) = health.overview(only=(kind, pk))
    return item


def test_a_new_source_without_traffic_has_no_data_not_healthy(make_source):
    source, _ = make_source("github", name="Fresh")
    item = _status("source", source.pk)
    assert (item.status, item.status_label) == ("no_data", "no data")
    assert "nothing received" in item.rule


@responses.activate
def test_a_failed_health_check_shows_at_once_and_a_success_clears_it():
    ProviderOverride.objects.create(provider="stripe", max_retries=0)
    responses.get("https://api.stripe.com/v1/balance", status=401)
    conn = Connection(name="Billing", provider="stripe")
    conn.set_credentials("sk_test_status_rules_1")
    conn.save()
    ok, message = connection_health.check(conn)
    assert not ok
    item = _status("connection", conn.pk)
    # Refused credentials flag the connection; the failed call is already counted.
    assert item.status == "needs_attention"
    assert (item.day.calls, item.day.failures, item.day.tests) == (1, 1, 1)
    assert item.last_error_at is not None and "AuthFailed" in item.last_error

    responses.replace(responses.GET, "https://api.stripe.com/v1/balance", status=503)
    conn.set_credentials("sk_test_status_rules_2")  # clears "needs attention"
    conn.save()
    connection_health.check(conn)
    item = _status("connection", conn.pk)
    assert item.status == "down" and item.rule.startswith("the last health check failed")

    responses.replace(responses.GET, "https://api.stripe.com/v1/balance", json={})
    assert connection_health.check(conn)[0]
    item = _status("connection", conn.pk)
    assert item.status != "down"


@responses.activate
def test_no_success_in_24h_is_never_healthy():
    ProviderOverride.objects.create(provider="stripe", max_retries=0)
    responses.get("https://api.stripe.com/v1/charges", status=503)
    conn = Connection(name="Payments", provider="stripe")
    conn.set_credentials("sk_test_zero_percent")
    conn.save()
    for _ in range(2):  # fewer than min_events: the window rules do not decide
        with pytest.raises(Exception):  # noqa: B017 (ProviderUnavailable)
            conn.client().get("/v1/charges")
    from connections import recorder

    recorder.flush()
    item = _status("connection", conn.pk)
    assert item.day.success_rate == 0
    assert item.status == "degraded" and "nothing succeeded in 24 h" in item.rule


def test_a_source_whose_every_request_is_refused_needs_attention(make_source, post_webhook):
    source, secret = make_source("github", name="Wrong secret")
    for _ in range(6):
        body, headers = signers.make_github("not-the-secret", str(uuid.uuid4()))
        assert post_webhook(source, body, headers).status_code == 401
    from webhooks import counts as counts

    counts.flush()
    item = _status("source", source.pk)
    assert item.status == "needs_attention"
    assert "all 6 requests" in item.rule and "signature 6" in item.rule


@pytest.mark.django_db(transaction=True)
def test_a_quiet_process_flushes_its_counts_in_the_background(make_source):
    from datetime import timedelta

    from django.utils import timezone

    from webhooks import counts as counts

    from . import stack

    source, _ = make_source("github", name="Quiet")
    with override_settings(HUB_BACKGROUND_FLUSH=True, HUB_ROLLUP_SECONDS=0.2):
        buffers.stop()  # as in a process that has not counted anything yet
        try:
            counts.count(source.pk, timezone.now() - timedelta(seconds=1), received=1)
            db.close()  # the thread writes with its own connection
            row = stack.wait_until(
                lambda: DeliveryRollup.objects.filter(source=source, received=1).first(),
                timeout=5,
                what="the background flush",
            )
        finally:
            buffers.stop()
    assert row.received == 1
