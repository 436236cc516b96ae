"""Health data is kept as outcomes happen: per-minute rollups and grouped errors, which outlive
payload retention."""

import uuid

import pytest
import responses

from connections import recorder
from connections.errors import ProviderUnavailable
from connections.models import CallErrorGroup, Connection, ProviderOverride
from core.rollups import percentile
from webhooks import counts
from webhooks.models import Delivery, DeliveryErrorGroup, DeliveryRollup, Source
from webhooks.processing import process

from . import signers

pytestmark = pytest.mark.django_db


def _post(post_webhook, source, event, n=1):
    ids = []
    for _ in range(n):
        body, headers = signers.make_generic(source.secret, str(uuid.uuid4()))
        ids.append(post_webhook(source, body, {**headers, "X-Event": event}).json()["id"])
    return ids


def test_rollups_count_received_refused_and_outcomes(
    make_source, post_webhook, django_capture_on_commit_callbacks
):
    source, _ = make_source("generic", retry_schedule=[1])
    ok = _post(post_webhook, source, "test.count", 3)
    failing = _post(post_webhook, source, "test.fail", 1)
    ignored = _post(post_webhook, source, "nobody.handles.this", 1)
    post_webhook(source, b"{}", {"X-Signature": "sha256=00"})  # refused
    with django_capture_on_commit_callbacks(execute=True):  # counted once committed
        for pk in ok + failing + ignored:
            process(pk)
        Delivery.objects.filter(pk__in=failing).update(next_attempt_at=None)
        process(failing[0])  # second failure: dead (schedule has one retry)
    counts.flush()
    rollup = DeliveryRollup.objects.get(source=source)
    assert (rollup.received, rollup.refused, rollup.refused_signature) == (5, 1, 1)
    assert (rollup.processed, rollup.ignored, rollup.dead) == (3, 1, 1)
    assert (rollup.attempts, rollup.failed_attempts, rollup.replays) == (6, 2, 0)
    buckets = {name: getattr(rollup, name) for name in ("le_25ms", "le_50ms", "le_100ms")}
    assert percentile(buckets, 0.5) is not None
    source.refresh_from_db()
    assert source.last_success_at and source.last_error_at
    group = DeliveryErrorGroup.objects.get(source=source)
    assert (group.error_class, group.count, group.example_delivery_id) == (
        "RuntimeError",
        2,
        failing[0],
    )
    assert "[redacted]" in group.message and "sk_live" not in group.message


def test_rollups_outlive_payload_retention(
    make_source, post_webhook, django_capture_on_commit_callbacks
):
    from webhooks import retention

    source, _ = make_source("generic", retention_days=1)
    (pk,) = _post(post_webhook, source, "test.count")
    with django_capture_on_commit_callbacks(execute=True):
        process(pk)
    counts.flush()
    from datetime import timedelta

    from django.utils import timezone

    Delivery.objects.filter(pk=pk).update(received_at=timezone.now() - timedelta(days=2))
    retention.purge_payloads()
    assert DeliveryRollup.objects.get(source=source).processed == 1


@responses.activate
def test_call_errors_are_grouped_per_connection():
    ProviderOverride.objects.create(provider="stripe", max_retries=0)
    responses.get("https://api.stripe.com/v1/balance", status=503)
    c = Connection(name="Billing", provider="stripe")
    c.set_credentials("sk_test_grouping_123456")
    c.save()
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            c.client().get("/v1/balance")
    recorder.flush()
    group = CallErrorGroup.objects.get(connection=c)
    assert (group.error_class, group.count) == ("ProviderUnavailable", 3)
    assert group.example_call is not None
    assert Source.objects.count() == 0
