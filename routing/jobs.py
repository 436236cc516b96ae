"""Replaying many forwards in the background (the desk, the API): a ``ForwardJob`` walks the
matching forwards in id order, in batches, so memory stays flat, progress shows, a cancel is
honoured between batches and a restarted job resumes after its last id."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import forwarding
from .models import Forward, ForwardJob

BATCH = 500
STATUSES = ("delivered", "dead", "retrying")


def matching(job: ForwardJob):
    forwards = Forward.objects.filter(status__in=job.statuses or STATUSES)
    if job.destination_id:
        forwards = forwards.filter(destination_id=job.destination_id)
    if job.route_id:
        forwards = forwards.filter(route_id=job.route_id)
    if job.since:
        forwards = forwards.filter(created_at__gte=job.since)
    return forwards


def start(*, user, destination=None, route=None, statuses=(), since=None) -> ForwardJob:
    """Create the job (its total counted now) and hand it to a worker after the commit."""
    from .tasks import run_forward_job

    bad = set(statuses) - set(STATUSES)
    if bad:
        raise ValueError(f"Only delivered, dead or retrying forwards can be replayed, not {bad}.")
    job = ForwardJob(
        destination=destination, route=route, statuses=list(statuses), since=since,
        created_by=user if getattr(user, "pk", None) else None,
    )  # fmt: skip
    job.total = matching(job).count()
    job.save()
    transaction.on_commit(lambda: run_forward_job.delay(job.pk))
    return job


def run(job_id: int) -> None:
    job = ForwardJob.objects.get(pk=job_id)
    if job.state in (ForwardJob.State.DONE, ForwardJob.State.CANCELLED):
        return
    ForwardJob.objects.filter(pk=job.pk).update(state=ForwardJob.State.RUNNING)
    while True:
        job.refresh_from_db()
        if job.cancel_requested:
            ForwardJob.objects.filter(pk=job.pk).update(
                state=ForwardJob.State.CANCELLED, finished_at=timezone.now()
            )
            return
        ids = list(
            matching(job)
            .filter(pk__gt=job.last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            ForwardJob.objects.filter(pk=job.pk).update(
                state=ForwardJob.State.DONE, finished_at=timezone.now()
            )
            return
        done = forwarding.replay(Forward.objects.filter(pk__in=ids))
        ForwardJob.objects.filter(pk=job.pk).update(
            replayed=F("replayed") + len(done),
            skipped=F("skipped") + len(ids) - len(done),
            last_id=ids[-1],
        )
