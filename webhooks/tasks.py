"""Celery tasks of the inbound side. Tasks take ids only and are acks_late."""

from celery import shared_task
from django.conf import settings

from . import operations, processing, retention, sweep


@shared_task(name="webhooks.process_delivery", acks_late=True, ignore_result=True)
def process_delivery(delivery_id: int) -> str | None:
    """Process one stored delivery (see webhooks.processing.process)."""
    return processing.process(delivery_id)


@shared_task(name="webhooks.process_batch", acks_late=True, ignore_result=True)
def process_batch(delivery_ids: list[int]) -> None:
    """Process several stored deliveries, one after the other, each on its own claim."""
    processing.process_many(delivery_ids)


@shared_task(name="webhooks.sweep", acks_late=True, ignore_result=True)
def sweep_task() -> dict:
    """Publish what a lost message, a broker outage or a dead worker left behind."""
    return sweep.sweep()


@shared_task(name="webhooks.purge_payloads", acks_late=True, ignore_result=True)
def purge_payloads() -> int:
    return retention.purge_payloads()


@shared_task(
    name="webhooks.run_replay_job", acks_late=True, ignore_result=True, time_limit=None,
    soft_time_limit=None,
)  # fmt: skip
def run_replay_job(job_id: int) -> None:
    """Run or resume a bulk replay job (it resumes after its last handled id)."""
    operations.run_job(job_id, batch=settings.HUB_REPLAY_BATCH)
