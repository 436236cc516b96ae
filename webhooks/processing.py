"""Processing stored deliveries: claim, dispatch, record the outcome, schedule a retry.

Contract of ``process_many(ids)`` (and ``process(id)``):

- Claim: one conditional UPDATE moves those of ``ids`` that are ``queued``/``retrying`` and due
  to ``processing`` (claimed_at, claimed_by, attempts+1, tries+1); one SELECT reads the rows
  this worker won. Another worker's concurrent claim gets 0 rows for them.
- Run, one delivery at a time, each in its own transaction: the handler from the provider's
  dispatch table, then the outcome (``processed``; ``ignored`` when there is no handler, with
  the reason) and its ``Attempt`` row. If the handler raises, that transaction rolls back (its
  writes with it) and a second one records ``retrying`` (``next_attempt_at`` from the schedule
  with full jitter) or ``dead`` (retries exhausted, or ``PermanentError``). The outcome UPDATE
  is fenced on this worker's claim (``status='processing' AND attempts=<ours>``): if the sweep
  gave the delivery to another worker meanwhile, nothing of ours commits (``ClaimLost``).
- A worker that dies mid-handler leaves the row ``processing``; the sweep records that
  attempt as ``lost`` and queues the delivery again.

Returns the outcome per claimed id (ids not claimed are absent).
"""

import logging
import os
import random
import signal
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import rollups
from core.redact import redact

from . import counts, registry
from .errors import PermanentError
from .events import Event
from .models import Attempt, Delivery, DeliveryErrorGroup
from .signals import deliveries_claimed

logger = logging.getLogger(__name__)
S = Delivery.Status
# Decrypted only when needed (redacting an error), not for every delivery processed.
SECRET_FIELDS = ("source__secret", "source__previous_secret", "source__connection__credentials")


def attempt_counts(outcome: str, replay: bool) -> dict[str, int]:
    """The rollup counts of one ended attempt (hub/figures.py): the attempt, whether it failed,
    whether a replay started it, and the delivery's outcome when the attempt ended it."""
    fields = {"attempts": 1, "failed_attempts": int(outcome in FAILED_OUTCOMES)}
    if replay:
        fields["replays"] = 1
    if outcome in FINAL_FIELDS:
        fields[FINAL_FIELDS[outcome]] = 1
    return fields


FAILED_OUTCOMES = (Attempt.Outcome.FAILED, Attempt.Outcome.DEAD, Attempt.Outcome.LOST)
# Attempt outcome that ends the delivery -> the DeliveryRollup field of its outcome.
FINAL_FIELDS = {
    Attempt.Outcome.PROCESSED: "processed",
    Attempt.Outcome.IGNORED: "ignored",
    Attempt.Outcome.DEAD: "dead",
}


class HandlerTimeout(Exception):
    """The handler ran longer than HUB_HANDLER_TIME_LIMIT (a failed attempt: retried)."""


@contextmanager
def time_limit(seconds: float):
    """Raise HandlerTimeout in this block after ``seconds`` (SIGALRM in this process). The alarm
    is cleared when the block ends, however it ends, so it can never fire on a later task or on
    an idle process. Outside the main thread (no signals there) the block runs unbounded and the
    pool's hard limit is the backstop."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise HandlerTimeout(
            f"The handler ran longer than {seconds:g} s (HUB_HANDLER_TIME_LIMIT) and was stopped."
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ClaimLost(Exception):
    """The sweep gave this delivery to another worker while ours was still running."""


def process(delivery_id: int) -> str | None:
    return process_many([delivery_id]).get(delivery_id)


def process_many(ids: list[int]) -> dict[int, str]:
    outcomes = {}
    claimed = _claim(ids)
    announced = _announce(claimed)
    for delivery in claimed:
        try:
            outcomes[delivery.pk] = _run(delivery, announced)
        except ClaimLost:
            logger.warning("webhooks.process.claim_lost", extra={"delivery_id": delivery.pk})
    return outcomes


def _claim(ids: list[int]) -> list[Delivery]:
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    won = Delivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk__in=ids,
        status__in=S.CLAIMABLE,
    ).update(
        status=S.PROCESSING,
        claimed_at=now,
        claimed_by=worker,
        attempts=F("attempts") + 1,
        tries=F("tries") + 1,
    )
    if not won:
        return []
    return list(
        Delivery.objects.filter(pk__in=ids, status=S.PROCESSING, claimed_by=worker, claimed_at=now)
        .select_related("source", "source__connection")
        .defer(*SECRET_FIELDS)
        .order_by("pk")
    )


def _announce(deliveries: list[Delivery]) -> bool:
    """``deliveries_claimed`` for the whole message (routing fans them out in bulk); False when
    a receiver failed: each delivery's attempt then sends it again for itself."""
    if not deliveries:
        return True
    try:
        deliveries_claimed.send(sender=Delivery, deliveries=deliveries)
    except Exception:
        logger.warning("webhooks.process.announce_failed", exc_info=True)
        return False
    return True


def _run(delivery: Delivery, announced: bool = False) -> str:
    handler, reason = registry.table(delivery.provider).resolve(delivery.event_type)
    started = time.monotonic()
    try:
        if not announced:
            deliveries_claimed.send(sender=Delivery, deliveries=[delivery])
        if handler is None:
            note = f"{delivery.provider} {delivery.event_type or '(no event type)'}: {reason}"
            with transaction.atomic():
                _finish(delivery, S.IGNORED, Attempt.Outcome.IGNORED, started, note=note)
            return S.IGNORED
        with transaction.atomic():
            with time_limit(settings.HUB_HANDLER_TIME_LIMIT * settings.HUB_RETRY_TIME_SCALE):
                handler(_event(delivery))
            _finish(delivery, S.PROCESSED, Attempt.Outcome.PROCESSED, started)
        return S.PROCESSED
    except ClaimLost:
        raise
    except Exception as exc:
        status, outcome = _failure(delivery, exc)
        with transaction.atomic():
            next_at = _finish(delivery, status, outcome, started, error=exc)
    if next_at is not None:
        _schedule_retry(delivery.pk, next_at)
    return status


def _finish(delivery, status, outcome, started, note="", error=None):
    """Record the outcome and its attempt under this worker's claim (ClaimLost if the sweep took
    it back: then nothing of this attempt commits); returns next_attempt_at or None."""
    duration_ms = int((time.monotonic() - started) * 1000)
    finished = timezone.now()
    message, trace = _error_text(delivery, error)
    if error is not None:
        note = f"{type(error).__name__}: {message}"[:2000]
        rollups.record_error(
            DeliveryErrorGroup,
            {"source_id": delivery.source_id},
            type(error).__name__,
            message,
            finished,
            example_delivery_id=delivery.pk,
        )
    next_at = None
    if status == S.RETRYING:
        next_at = finished + timedelta(seconds=_delay(delivery.source, delivery.tries))
    _set_outcome(delivery, status, note, next_at, finished)
    Attempt.objects.create(
        delivery_id=delivery.pk,
        number=delivery.attempts,
        started_at=delivery.claimed_at,
        finished_at=finished,
        duration_ms=duration_ms,
        outcome=outcome,
        error_class=type(error).__name__ if error is not None else "",
        error_message=message[:5000],
        traceback=trace,
        worker=delivery.claimed_by,
        replayed_by=delivery.replay_requested_by,
    )
    ended = attempt_counts(outcome, replay=bool(delivery.replay_requested_by))
    transaction.on_commit(
        lambda: counts.count(delivery.source_id, finished, latency_ms=duration_ms, **ended)
    )
    return next_at


def _error_text(delivery, error) -> tuple[str, str]:
    """The error's message and traceback with the source's secrets redacted ("" without one)."""
    if error is None:
        return "", ""
    secrets = delivery.source.valid_secrets()
    return redact(str(error), secrets), redact(_traceback(error), secrets)


def _set_outcome(delivery, status, note, next_at, finished) -> None:
    """One UPDATE fenced on this worker's claim (status and attempt number); ClaimLost if it
    matched nothing."""
    held = Delivery.objects.filter(
        pk=delivery.pk, status=S.PROCESSING, attempts=delivery.attempts
    ).update(
        status=status,
        error=note,
        next_attempt_at=next_at,
        claimed_at=None,
        claimed_by="",
        processed_at=None if next_at else finished,
        replay_requested_by="",
    )
    if not held:
        raise ClaimLost(delivery.pk)


def _failure(delivery: Delivery, exc: Exception):
    if isinstance(exc, PermanentError):
        logger.warning("webhooks.process.permanent_error", extra={"delivery_id": delivery.pk})
        return S.DEAD, Attempt.Outcome.DEAD
    if delivery.tries > len(delivery.source.retry_delays()):
        logger.warning("webhooks.process.dead", extra={"delivery_id": delivery.pk})
        return S.DEAD, Attempt.Outcome.DEAD
    logger.info("webhooks.process.retrying", extra={"delivery_id": delivery.pk})
    return S.RETRYING, Attempt.Outcome.FAILED


def _delay(source, tries: int) -> float:
    """Full jitter: uniform in [0, step] for the step after ``tries`` attempts, time-scaled."""
    step = source.retry_delays()[tries - 1]
    return random.uniform(0, step) * settings.HUB_RETRY_TIME_SCALE  # noqa: S311 (not crypto)


def _schedule_retry(delivery_id: int, due) -> None:
    from .publisher import publish

    wait = (due - timezone.now()).total_seconds()
    if wait <= settings.HUB_RETRY_COUNTDOWN_MAX:
        publish([delivery_id], countdown=max(0.0, wait))


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-20000:]


def _event(delivery: Delivery) -> Event:
    source = delivery.source
    return Event(
        provider=delivery.provider,
        type=delivery.event_type,
        delivery_id=delivery.pk,
        external_id=delivery.external_id,
        payload=source.receiver.parse(bytes(delivery.body), delivery.headers_view()),
        source=source,
        connection=source.connection,
        attempt=delivery.attempts,
    )
