"""Processing outcomes, retries, dead letters and the built-in handlers (real database)."""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from webhooks import registry, sweep
from webhooks.models import Attempt, Delivery
from webhooks.processing import process, process_many

from . import signers
from .models import SideEffect

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(make_source, post_webhook):
    """``deliver(event, **source_fields) -> Delivery`` on a generic source (X-Event header)."""

    def send(event, source=None, **fields):
        if source is None:
            source, _ = make_source("generic", **fields)
        body, headers = signers.make_generic(source.secret, str(uuid.uuid4()))
        response = post_webhook(source, body, {**headers, "X-Event": event})
        assert response.status_code == 202, response.content
        return Delivery.objects.get(pk=response.json()["id"])

    return send


def test_no_handler_is_ignored_with_the_reason(deliver):
    d = deliver("thing.happened")
    assert process(d.pk) == "ignored"
    d.refresh_from_db()
    assert "no handler registered" in d.error
    assert d.attempt_set.get().outcome == "ignored"


def test_ignored_on_purpose_says_so(deliver):
    d = deliver("test.ignored")
    assert process(d.pk) == "ignored"
    assert "on purpose" in Delivery.objects.get(pk=d.pk).error


def test_success_is_processed_once_and_a_second_message_is_a_no_op(deliver):
    d = deliver("test.count")
    assert process(d.pk) == "processed"
    assert process(d.pk) is None  # a duplicate message finds nothing to claim
    d.refresh_from_db()
    assert (d.status, d.attempts, d.error) == ("processed", 1, "")
    assert SideEffect.objects.filter(delivery_id=d.pk).count() == 1


def test_failure_retries_on_the_schedule_then_dies_with_every_attempt_recorded(deliver):
    d = deliver("test.fail", retry_schedule=[10, 20])
    for expected_step in (10, 20):
        before = timezone.now()
        assert process(d.pk) == "retrying"
        d.refresh_from_db()
        assert before <= d.next_attempt_at <= before + timedelta(seconds=expected_step + 1)
        assert process(d.pk) is None  # not due yet
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert process(d.pk) == "dead"
    d.refresh_from_db()
    assert d.status == "dead" and "RuntimeError" in d.error
    attempts = list(d.attempt_set.order_by("number"))
    assert [a.outcome for a in attempts] == ["failed", "failed", "dead"]
    for a in attempts:
        assert a.error_class == "RuntimeError"
        assert "sk_live_abcdef123456" not in a.error_message + a.traceback
        assert "[redacted]" in a.error_message
        assert "always_fail" in a.traceback
        assert a.finished_at >= a.started_at and a.worker
    # the failing handler's writes rolled back with each failure
    assert not SideEffect.objects.filter(delivery_id=d.pk).exists()


def test_one_message_commits_each_handler_with_its_own_outcome(deliver, make_source):
    """A message's deliveries share one transaction: a failing handler's writes roll back with
    its savepoint while the others' commit with their outcomes, and each has its attempt."""
    source, _ = make_source("generic")
    first, failing, last = (deliver(e, source) for e in ("test.count", "test.fail", "test.count"))
    ignored = deliver("nothing.here", source)
    ids = [first.pk, failing.pk, last.pk, ignored.pk]
    outcomes = process_many(ids)
    assert outcomes == {
        first.pk: "processed",
        failing.pk: "retrying",
        last.pk: "processed",
        ignored.pk: "ignored",
    }
    effects = SideEffect.objects.filter(delivery_id__in=ids)
    assert sorted(effects.values_list("delivery_id", flat=True)) == [first.pk, last.pk]
    for pk, outcome in ((first.pk, "processed"), (failing.pk, "failed"), (ignored.pk, "ignored")):
        assert list(Attempt.objects.filter(delivery_id=pk).values_list("outcome", flat=True)) == [
            outcome
        ]
    failed = Delivery.objects.get(pk=failing.pk)
    assert failed.next_attempt_at and "downstream refused" in failed.error
    assert "sk_live_abcdef123456" not in failed.error  # token-like values are redacted
    assert process_many(ids) == {}  # nothing due: a duplicate message claims nothing


def test_permanent_error_goes_straight_to_dead(deliver):
    d = deliver("test.permanent")
    assert process(d.pk) == "dead"
    assert Delivery.objects.get(pk=d.pk).attempts == 1


def test_flaky_handler_ends_processed_after_three_attempts(deliver):
    d = deliver("test.flaky", retry_schedule=[1, 1, 1])
    outcomes = []
    for _ in range(3):
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=None)
        outcomes.append(process(d.pk))
    assert outcomes == ["retrying", "retrying", "processed"]
    assert SideEffect.objects.filter(delivery_id=d.pk).count() == 1  # only the good run committed


def test_sweep_recovers_a_claim_left_by_a_dead_worker(deliver, settings):
    settings.HUB_CLAIM_TIMEOUT = 1
    settings.HUB_SWEEP_LOST_AFTER = 1
    d = deliver("test.count")
    old = timezone.now() - timedelta(seconds=5)
    Delivery.objects.filter(pk=d.pk).update(
        status="processing", claimed_at=old, claimed_by="gone:1", attempts=1, tries=1
    )
    assert sweep.recover_lost_claims() == 1
    d.refresh_from_db()
    assert d.status == "retrying" and d.next_attempt_at <= timezone.now()
    lost = d.attempt_set.get()
    assert (lost.outcome, lost.number, lost.worker, lost.started_at) == ("lost", 1, "gone:1", old)
    assert process(d.pk) == "processed"
    assert [a.outcome for a in d.attempt_set.order_by("number")] == ["lost", "processed"]


@pytest.mark.django_db(transaction=True)
def test_sweep_skips_a_claim_a_running_message_holds_and_takes_a_dead_ones_back_in_seconds(
    deliver, settings
):
    """On PostgreSQL a running message locks its rows: the sweep leaves them alone however old
    the claim, and takes the claim back as soon as the lock goes with the worker's connection."""
    import psycopg
    from django.db import connection

    settings.HUB_CLAIM_TIMEOUT = 3600  # age alone would never take it back
    settings.HUB_SWEEP_LOST_AFTER = 1
    d = deliver("test.count")
    Delivery.objects.filter(pk=d.pk).update(
        status="processing",
        claimed_at=timezone.now() - timedelta(seconds=30),
        claimed_by="busy:1",
        attempts=1,
        tries=1,
    )
    db = connection.settings_dict
    worker = psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    )
    try:
        worker.execute("SELECT id FROM webhooks_delivery WHERE id = %s FOR UPDATE", [d.pk])
        assert sweep.recover_lost_claims() == 0
        assert Delivery.objects.get(pk=d.pk).status == "processing"
    finally:
        worker.close()  # the worker dies: its lock goes with its connection
    assert sweep.recover_lost_claims() == 1
    d.refresh_from_db()
    assert d.status == "retrying"
    assert d.attempt_set.get().outcome == "lost"
    assert process(d.pk) == "processed"


def test_sweep_publishes_due_retries_and_stale_queued(deliver, settings):
    settings.HUB_SWEEP_QUEUED_AFTER = 30
    due = deliver("test.count")
    Delivery.objects.filter(pk=due.pk).update(status="retrying", next_attempt_at=timezone.now())
    stale = deliver("test.count")
    Delivery.objects.filter(pk=stale.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    fresh = deliver("test.count")
    assert sweep.publish_due_retries() == 1
    assert sweep.republish_stale_queued() == 1
    assert Delivery.objects.get(pk=due.pk).status == "queued"
    assert Delivery.objects.get(pk=stale.pk).queued_at > timezone.now() - timedelta(seconds=5)
    assert Delivery.objects.get(pk=fresh.pk).status == "queued"


def test_a_handler_path_that_does_not_import_fails_loudly():
    with (
        override_settings(HUB_WEBHOOK_HANDLERS={"github": {"push": "nowhere.handler"}}),
        pytest.raises(ImproperlyConfigured, match="nowhere.handler"),
    ):
        registry.check()
    with (
        override_settings(HUB_WEBHOOK_HANDLERS={"fax": {}}),
        pytest.raises(ImproperlyConfigured, match="unknown providers"),
    ):
        registry.check()


def test_a_handler_over_its_time_limit_is_stopped_and_the_alarm_never_outlives_it(
    make_source, post_webhook, settings
):
    import signal

    settings.HUB_HANDLER_TIME_LIMIT = 0.3
    settings.HUB_RETRY_TIME_SCALE = 1
    source, _ = make_source("generic")

    def deliver(event):
        body, headers = signers.make_generic(source.secret, str(uuid.uuid4()))
        return post_webhook(source, body, {**headers, "X-Event": event}).json()["id"]

    slow = deliver("test.sleepy")
    assert process(slow) == "retrying"
    attempt = Attempt.objects.get(delivery_id=slow)
    assert attempt.error_class == "HandlerTimeout" and "longer than 0.3 s" in attempt.error_message
    assert attempt.duration_ms < 2000  # stopped at the limit, not after the 5 s sleep
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no alarm left behind
    fast = deliver("test.count")
    assert process(fast) == "processed"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
