"""Replaying deliveries: one, a selection, or everything a filter matches (as a job).

A replay puts a finished delivery back to ``queued`` with a fresh retry budget (``tries`` = 0)
and publishes it after the commit; its attempt history is kept, and its next attempt records
who replayed it. A replay is an attempt, never a new delivery: the delivery leaves the count of
its old outcome (at the minute it had finished) and is counted again when it finishes.
Replayable: ``processed``, ``ignored``, ``dead`` and ``retrying`` (retry now) deliveries whose
payload is still stored.
``queued``/``processing`` ones are already in flight; ``rejected`` ones were never accepted.
"""

import logging
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import health
from .dispatch import publish
from .filters import filtered
from .models import Delivery, ReplayJob

logger = logging.getLogger(__name__)
S = Delivery.Status
REPLAYABLE = Q(status__in=(S.PROCESSED, S.IGNORED, S.DEAD, S.RETRYING)) & Q(
    payload_removed_at__isnull=True
)


FINISHED = {S.PROCESSED: "processed", S.IGNORED: "ignored", S.DEAD: "dead"}


def replay_ids(ids, by: str = "") -> list[int]:
    """Queue the replayable deliveries among ``ids`` again; returns the ids queued. ``by`` names
    who asked (a username, or e.g. "shell"); the next attempt of each records it."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update()
            .filter(REPLAYABLE, pk__in=list(ids))
            .order_by("pk")
            .values_list("pk", "source_id", "status", "processed_at")
        )
        chosen = [pk for pk, *_ in rows]
        Delivery.objects.filter(pk__in=chosen).update(
            status=S.QUEUED,
            tries=0,
            next_attempt_at=None,
            error="",
            queued_at=now,
            processed_at=None,
            replay_requested_by=(by or "unknown")[:150],
        )
        transaction.on_commit(partial(_uncount, rows))
        transaction.on_commit(partial(publish, chosen), robust=True)
    return chosen


def _uncount(rows) -> None:
    """Take replayed deliveries out of the count of the outcome they had."""
    for _pk, source_id, status, processed_at in rows:
        if status in FINISHED and processed_at is not None:
            health.count(source_id, processed_at, **{FINISHED[status]: -1})


def why_not_replayable(delivery: Delivery) -> str | None:
    if delivery.payload_removed_at:
        return "Its payload was removed; there is nothing to replay."
    if delivery.status in (S.QUEUED, S.PROCESSING):
        return "It is already queued or being processed."
    if delivery.status == S.REJECTED:
        return "It was rejected at the door (never verified); it cannot be processed."
    return None


def start_job(filters: dict, user=None) -> ReplayJob:
    """Validate ``filters`` (ValueError with field errors) and start a background job."""
    filtered(filters)
    job = ReplayJob.objects.create(filters=filters, created_by=user)
    from .tasks import run_replay_job

    transaction.on_commit(partial(run_replay_job.delay, job.pk), robust=True)
    return job


def run_job(job_id: int, batch: int = 500, on_progress=None) -> ReplayJob:
    """Run (or resume) a job in id order, ``batch`` rows at a time; never loads every row.

    Stops after the current batch when ``cancel_requested`` is set. ``on_progress(job)`` is
    called after every batch (the shell command draws its progress bar with it).
    """
    job = ReplayJob.objects.select_related("created_by").get(pk=job_id)
    who = job.created_by.get_username() if job.created_by else "shell"
    if job.status in (ReplayJob.Status.DONE, ReplayJob.Status.CANCELLED):
        return job
    try:
        matching = filtered(job.filters)
    except ValueError as exc:
        return _finish(job, ReplayJob.Status.FAILED, f"Invalid filters: {exc}")
    if job.status == ReplayJob.Status.PENDING:
        job.total = matching.count()
        job.status, job.started_at = ReplayJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["total", "status", "started_at"])
    while True:
        if ReplayJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
            return _finish(job, ReplayJob.Status.CANCELLED)
        ids = list(
            matching.filter(pk__gt=job.last_id).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return _finish(job, ReplayJob.Status.DONE)
        queued = replay_ids(ids, by=who)
        job.replayed += len(queued)
        job.skipped += len(ids) - len(queued)
        job.last_id = ids[-1]
        job.save(update_fields=["replayed", "skipped", "last_id"])
        if on_progress:
            on_progress(job)


def _finish(job: ReplayJob, status, error: str = "") -> ReplayJob:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    logger.info("webhooks.replay.finished", extra={"job_id": job.pk, "status": status})
    return job
