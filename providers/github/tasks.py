"""GitHub's Celery tasks: recovering what GitHub failed to deliver to connected repositories.
Task names keep the ``webhooks.`` prefix they were scheduled under (beat, queued messages)."""

from celery import shared_task

from connections.tasks import retry_when_limited
from webhooks.models import RepositoryHook

from . import hooks


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
        return hooks.redeliver_missed(hook)
    except Exception as exc:
        retry_when_limited(self, exc)
