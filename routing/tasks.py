"""Celery tasks of routing (ids only, acks_late)."""

from celery import shared_task

from . import forwarding, jobs


@shared_task(name="routing.forward_batch", acks_late=True, ignore_result=True)
def forward_batch(forward_ids: list[int]) -> None:
    """Send several forwards of one destination (routing.forwarding.send_many)."""
    forwarding.send_many(forward_ids)


@shared_task(name="routing.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict:
    return forwarding.sweep()


@shared_task(
    name="routing.run_forward_job", acks_late=True, ignore_result=True, time_limit=None,
    soft_time_limit=None,
)  # fmt: skip
def run_forward_job(job_id: int) -> None:
    """Run or resume a forward replay job (it resumes after its last id)."""
    jobs.run(job_id)
