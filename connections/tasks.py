"""Celery tasks of the outbound side, and the rule for tasks that call out."""

from celery import shared_task

from . import checks
from .errors import CircuitOpen, RateLimited
from .models import Connection


def retry_when_limited(task, exc: Exception):
    """Inside a bound task: turn RateLimited/CircuitOpen into a retry at the time they name;
    re-raise anything else."""
    if isinstance(exc, RateLimited | CircuitOpen):
        raise task.retry(exc=exc, countdown=max(1, int(exc.retry_after) + 1))
    raise exc


@shared_task(name="connections.health_check", bind=True, acks_late=True, ignore_result=True)
def health_check(self, connection_id: int) -> bool | None:
    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return None
    try:
        ok, _ = checks.check(connection)
    except Exception as exc:  # rate limited or circuit open: try again when allowed
        retry_when_limited(self, exc)
    return ok


@shared_task(name="connections.health_checks", acks_late=True, ignore_result=True)
def health_checks() -> int:
    """Beat: one health check task per enabled connection."""
    ids = list(Connection.objects.filter(enabled=True).values_list("pk", flat=True))
    for pk in ids:
        health_check.delay(pk)
    return len(ids)
