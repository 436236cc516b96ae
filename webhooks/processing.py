"""Processing one stored delivery: claim, dispatch, record the outcome, schedule a retry.

Contract of ``process(delivery_id)``:

- Claim: one conditional UPDATE moves a ``queued``/``retrying`` delivery that is due to
  ``processing`` (with claimed_at/claimed_by) and opens an ``Attempt`` row, in one transaction.
  Only one worker wins; any other gets 0 rows and returns None.
- Run: the handler from the provider's dispatch table runs in a second transaction together
  with the outcome: ``processed``, ``ignored`` (no handler: the reason is kept), ``retrying``
  (handler raised; ``next_attempt_at`` from the schedule with full jitter) or ``dead`` (retries
  exhausted, or ``PermanentError``). The outcome is written only if this worker still holds the
  claim; otherwise everything, the handler's writes included, rolls back.
- A worker that dies mid-handler leaves the row ``processing``; the sweep (webhooks.sweep)
  records that attempt as ``lost`` and queues the delivery again.
"""

import logging
import os
import random
import socket
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connections.redact import redact

from . import registry
from .errors import PermanentError
from .events import Event
from .models import Attempt, Delivery

logger = logging.getLogger(__name__)
CLAIMABLE = (Delivery.Status.QUEUED, Delivery.Status.RETRYING)


class ClaimLost(Exception):
    """The sweep gave this delivery to another worker while ours was still running."""


def process(delivery_id: int) -> str | None:
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    delivery, attempt = claimed
    try:
        return _run(delivery, attempt)
    except ClaimLost:
        logger.warning("webhooks.process.claim_lost", extra={"delivery_id": delivery_id})
        return None


def _claim(delivery_id: int):
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with transaction.atomic():
        won = Delivery.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            pk=delivery_id,
            status__in=CLAIMABLE,
        ).update(
            status=Delivery.Status.PROCESSING,
            claimed_at=now,
            claimed_by=worker,
            attempts=F("attempts") + 1,
            tries=F("tries") + 1,
        )
        if not won:
            return None
        delivery = Delivery.objects.select_related("source", "source__connection").get(
            pk=delivery_id
        )
        attempt = Attempt.objects.create(
            delivery=delivery, number=delivery.attempts, started_at=now, worker=worker
        )
    return delivery, attempt


def _run(delivery: Delivery, attempt: Attempt) -> str:
    source = delivery.source
    handler, reason = registry.table(delivery.provider).resolve(delivery.event_type)
    started = time.monotonic()
    error = None
    with transaction.atomic():
        if handler is None:
            status, outcome = Delivery.Status.IGNORED, Attempt.Outcome.IGNORED
            note = f"{delivery.provider} {delivery.event_type or '(no event type)'}: {reason}"
        else:
            try:
                with transaction.atomic():
                    handler(_event(delivery))
                status, outcome, note = Delivery.Status.PROCESSED, Attempt.Outcome.PROCESSED, ""
            except Exception as exc:
                error = exc
                status, outcome, note = _failure(delivery, exc)
        duration = time.monotonic() - started
        finished = timezone.now()
        next_at = None
        if status == Delivery.Status.RETRYING:
            next_at = finished + timedelta(seconds=_delay(source, delivery.tries))
        held = Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.PROCESSING, attempts=attempt.number
        ).update(
            status=status,
            error=note,
            next_attempt_at=next_at,
            claimed_at=None,
            claimed_by="",
            processed_at=None if next_at else finished,
        )
        if not held:
            raise ClaimLost(delivery.pk)
        secrets = source.valid_secrets()
        Attempt.objects.filter(pk=attempt.pk).update(
            finished_at=finished,
            duration_ms=int(duration * 1000),
            outcome=outcome,
            error_class=type(error).__name__ if error else "",
            error_message=redact(str(error), secrets)[:5000] if error else "",
            traceback=redact(_traceback(error), secrets) if error else "",
        )
    if next_at is not None:
        _schedule_retry(delivery.pk, next_at)
    return status


def _failure(delivery: Delivery, exc: Exception):
    message = f"{type(exc).__name__}: {redact(str(exc), delivery.source.valid_secrets())}"[:2000]
    if isinstance(exc, PermanentError):
        logger.warning("webhooks.process.permanent_error", extra={"delivery_id": delivery.pk})
        return Delivery.Status.DEAD, Attempt.Outcome.DEAD, message
    if delivery.tries > len(delivery.source.retry_delays()):
        logger.warning("webhooks.process.dead", extra={"delivery_id": delivery.pk})
        return Delivery.Status.DEAD, Attempt.Outcome.DEAD, message
    logger.info("webhooks.process.retrying", extra={"delivery_id": delivery.pk})
    return Delivery.Status.RETRYING, Attempt.Outcome.FAILED, message


def _delay(source, tries: int) -> float:
    """Full jitter: uniform in [0, step] for the step after ``tries`` attempts, time-scaled."""
    step = source.retry_delays()[tries - 1]
    return random.uniform(0, step) * settings.HUB_RETRY_TIME_SCALE  # noqa: S311 (not crypto)


def _schedule_retry(delivery_id: int, due) -> None:
    from .dispatch import publish

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
