"""Celery tasks of the inbound side. Tasks take ids only and are acks_late."""

from celery import shared_task
from celery.signals import task_postrun
from django.conf import settings

from connections.tasks import retry_when_limited

from . import counts, github_hooks, operations, processing, retention, sweep
from .models import RepositoryHook


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


@shared_task(name="webhooks.github_redeliveries", acks_late=True, ignore_result=True)
def github_redeliveries() -> None:
    """Beat: one redelivery check per connected repository."""
    for hook_id in RepositoryHook.objects.values_list("pk", flat=True):
        github_redelivery.delay(hook_id)


@shared_task(name="webhooks.github_redelivery", bind=True, acks_late=True, ignore_result=True)
def github_redelivery(self, hook_id: int) -> int | None:
    hook = RepositoryHook.objects.select_related("connection").filter(pk=hook_id).first()
    if hook is None:
        return None
    try:
        return github_hooks.redeliver_missed(hook)
    except Exception as exc:
        retry_when_limited(self, exc)


@task_postrun.connect
def _flush_rollups(**kwargs):
    counts.flush()
