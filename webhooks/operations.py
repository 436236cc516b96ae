"""What people do to deliveries, in one place: replay one, a selection, or everything a filter
matches (as a background job), and erase a payload. The admin, the support desk, the API and
``manage.py replay_deliveries`` all call these; each names who acted.

A replay puts a finished delivery back to ``queued`` with a fresh retry budget (``tries`` = 0)
and publishes it after the commit; its attempt history is kept, and its next attempt records
who replayed it. A replay is an attempt, never a new delivery: the delivery leaves the count of
its old outcome (at the minute it had finished) and is counted again when it finishes.
Replayable: ``processed``, ``ignored``, ``dead`` and ``retrying`` (retry now) deliveries whose
payload is still stored; ``queued``/``processing`` ones are in flight, ``rejected`` ones were
never accepted (``why_not_replayable`` says which).

A replay job walks the filter's matches in id order (``pk > last_id``), a batch at a time, so
memory stays flat and a restarted job resumes; it checks ``cancel_requested`` between batches.
Each delivery it queues points at it (``Delivery.replay_job``), so the job's page follows their
outcomes as they land (``job_outcomes``).
"""

import logging
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from . import counts
from .filters import filtered
from .models import Delivery, ReplayJob
from .publisher import publish

logger = logging.getLogger(__name__)
S = Delivery.Status
REPLAYABLE = Q(status__in=S.REPLAYABLE, payload_removed_at__isnull=True)


@dataclass(frozen=True)
class Done:
    """What an operation on one delivery did: ``ok``, else ``reason`` says why not."""

    ok: bool
    reason: str = ""


# --- replay ---------------------------------------------------------------------------------


def replay_ids(ids, by: str, job: ReplayJob | None = None) -> list[int]:
    """Queue the replayable deliveries among ``ids`` again; returns the ids queued. ``by`` names
    who asked (a username, or "shell"); the next attempt of each records it."""
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
            replay_job=job,
        )
        transaction.on_commit(partial(_uncount, rows))
        transaction.on_commit(partial(publish, chosen), robust=True)
    return chosen


def replay_one(delivery: Delivery, by: str) -> Done:
    if replay_ids([delivery.pk], by):
        return Done(True)
    delivery.refresh_from_db()
    return Done(False, why_not_replayable(delivery) or "It changed state meanwhile; try again.")


def _uncount(rows) -> None:
    """Take replayed deliveries out of the count of the outcome they had."""
    for _pk, source_id, status, processed_at in rows:
        if status in S.FINISHED and processed_at is not None:
            counts.count(source_id, processed_at, **{status: -1})


def why_not_replayable(delivery: Delivery) -> str | None:
    if delivery.status == S.REJECTED:
        return "It was refused at the door (never verified); there is nothing to process."
    if delivery.payload_removed_at:
        return "Its payload was removed; there is nothing to replay."
    if delivery.status in (S.QUEUED, S.PROCESSING):
        return "It is already queued or being processed."
    return None


def start_job(filters: dict, by_user=None) -> ReplayJob:
    """Validate ``filters`` (ValueError with field errors), count the matches and start a
    background job that replays them."""
    total = filtered(filters).count()
    job = ReplayJob.objects.create(filters=filters, created_by=by_user, total=total)
    from .tasks import run_replay_job

    transaction.on_commit(partial(run_replay_job.delay, job.pk), robust=True)
    return job


def run_job(job_id: int, batch: int = 500, on_progress=None) -> ReplayJob:
    """Run (or resume) a job in id order, ``batch`` rows at a time; never loads every row.

    Stops after the current batch when ``cancel_requested`` is set. ``on_progress(job)`` is
    called after every batch (the shell command draws its progress bar with it).
    """
    job = ReplayJob.objects.select_related("created_by").get(pk=job_id)
    if job.status in (ReplayJob.Status.DONE, ReplayJob.Status.CANCELLED):
        return job
    who = job.created_by.get_username() if job.created_by else "shell"
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
        queued = replay_ids(ids, by=who, job=job)
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


def job_outcomes(job: ReplayJob) -> dict[str, int]:
    """Where the deliveries this job queued are now: ``succeeded`` (processed or ignored),
    ``dead``, ``in_flight`` (queued, processing or retrying). A delivery replayed again later
    belongs to that later replay."""
    by_status = dict(
        Delivery.objects.filter(replay_job=job)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "succeeded": by_status.get(S.PROCESSED, 0) + by_status.get(S.IGNORED, 0),
        "dead": by_status.get(S.DEAD, 0),
        "in_flight": sum(by_status.get(s, 0) for s in S.IN_FLIGHT),
    }


# --- erase ----------------------------------------------------------------------------------


def erase(delivery: Delivery, by: str) -> Done:
    """Erase one delivery's body and headers on request (kept: id, times, outcome, attempts).
    Not while it is in flight: erase it once it has finished."""
    erased = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status__in=S.IN_FLIGHT)
        .update(
            body=b"",
            headers={},
            payload_removed_at=timezone.now(),
            payload_removed_reason=f"erased on request by {by}",
        )
    )
    if erased:
        return Done(True)
    return Done(False, "It is being processed; erase it once it has finished.")
