"""The periodic sweep: the broker is never the only copy of the work.

Contract of ``sweep()`` (Celery beat, every HUB_SWEEP_SECONDS), each step bounded by
HUB_SWEEP_BATCH rows:

1. deliveries ``processing`` whose claim no running message holds belong to a dead worker:
   their running attempt is recorded as ``lost`` and they are due again (or ``dead`` when that
   was their last try). On PostgreSQL that is an unlocked claim older than
   HUB_SWEEP_LOST_AFTER (seconds after the worker died); elsewhere a claim older than
   HUB_CLAIM_TIMEOUT (``lost_claim_age``);
2. ``retrying`` deliveries whose ``next_attempt_at`` has come become ``queued`` and are
   published (so a backlog does not make every sweep publish them again);
3. ``queued`` deliveries published more than HUB_SWEEP_QUEUED_AFTER ago and still waiting
   (broker down at ingest, lost message) are published again.

Publishing twice is harmless: only one worker can claim a delivery.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import counts
from .models import Attempt, Delivery
from .models.source import retry_delays
from .processing import attempt_counts
from .publisher import publish, queue_is_empty

logger = logging.getLogger(__name__)
S = Delivery.Status


def sweep() -> dict[str, int]:
    counts = {"lost": recover_lost_claims(), "due": publish_due_retries()}
    counts["stale_queued"] = republish_stale_queued()
    if any(counts.values()):
        logger.info("webhooks.sweep", extra=counts)
    return counts


def recover_lost_claims() -> int:
    now = timezone.now()
    stale = now - timedelta(seconds=lost_claim_age())
    rows = Delivery.objects.filter(status=S.PROCESSING, claimed_at__lt=stale).values_list(
        "pk", "source_id", "tries", "attempts", "claimed_at", "claimed_by", "replay_requested_by",
        "source__retry_schedule",
    )[: settings.HUB_SWEEP_BATCH]  # fmt: skip
    taken, recovered = 0, []
    for pk, source_id, tries, attempts, claimed_at, claimed_by, replayed_by, schedule in rows:
        exhausted = tries > len(retry_delays(schedule))
        with transaction.atomic():
            # A row a running message holds is locked (webhooks.processing._lock): skip it.
            free = Delivery.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=S.PROCESSING, claimed_at__lt=stale
            )
            if not free.exists():
                continue
            taken += 1
            free.update(
                status=S.DEAD if exhausted else S.RETRYING,
                next_attempt_at=None if exhausted else now,
                error="The worker stopped before recording an outcome (killed or crashed).",
                claimed_at=None,
                claimed_by="",
                processed_at=now if exhausted else None,
                replay_requested_by="",
            )
            Attempt.objects.create(
                delivery_id=pk,
                number=attempts,
                started_at=claimed_at,
                finished_at=now,
                outcome=Attempt.Outcome.LOST,
                error_class="WorkerLost",
                error_message="The worker stopped before recording an outcome.",
                worker=claimed_by,
                replayed_by=replayed_by,
            )
            lost = attempt_counts(Attempt.Outcome.LOST, replay=bool(replayed_by))
            if exhausted:
                lost["dead"] = 1
            transaction.on_commit(lambda c=lost, s=source_id: counts.count(s, now, **c))
            if not exhausted:
                recovered.append(pk)
    publish(recovered)
    return taken


def lost_claim_age() -> float:
    """How old an unfinished claim must be before the sweep takes it back (seconds). On
    PostgreSQL a running message keeps its rows locked and the sweep skips locked rows, so an
    unlocked claim is a dead worker's once it is HUB_SWEEP_LOST_AFTER old (a message locks its
    rows right after claiming them). Elsewhere (SQLite: no row locks) only age tells, and a
    claim must outlive the longest handler: HUB_CLAIM_TIMEOUT."""
    if connection.vendor == "postgresql" and connection.features.has_select_for_update_skip_locked:
        return settings.HUB_SWEEP_LOST_AFTER
    return settings.HUB_CLAIM_TIMEOUT * settings.HUB_RETRY_TIME_SCALE


def publish_due_retries() -> int:
    now = timezone.now()
    ids = list(
        Delivery.objects.filter(status=S.RETRYING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.HUB_SWEEP_BATCH]
    )
    Delivery.objects.filter(pk__in=ids, status=S.RETRYING).update(status=S.QUEUED, queued_at=now)
    return _publish(ids, now)


def republish_stale_queued() -> int:
    """Publish again the deliveries queued longer than HUB_SWEEP_QUEUED_AFTER (60 s), or than
    HUB_SWEEP_LOST_AFTER (5 s) while the broker's queue is empty: nothing is then waiting
    for a worker, so a delivery queued for seconds was never handed over (a web process died
    with it in its publisher's memory) and need not wait a minute."""
    now = timezone.now()
    after = settings.HUB_SWEEP_QUEUED_AFTER
    if queue_is_empty():
        after = min(after, settings.HUB_SWEEP_LOST_AFTER)
    stale = now - timedelta(seconds=after)
    ids = list(
        Delivery.objects.filter(status=S.QUEUED, queued_at__lt=stale)
        .order_by("queued_at")
        .values_list("pk", flat=True)[: settings.HUB_SWEEP_BATCH]
    )
    return _publish(ids, now)


def _publish(ids: list[int], now) -> int:
    if not ids or not publish(ids):
        return 0
    Delivery.objects.filter(pk__in=ids).update(queued_at=now)
    return len(ids)
