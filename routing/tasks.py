"""Celery tasks of routing (ids only, acks_late)."""

from celery import shared_task

from . import forwarding


@shared_task(name="routing.forward_batch", acks_late=True, ignore_result=True)
def forward_batch(forward_ids: list[int]) -> None:
    """Send several forwards of one destination (routing.forwarding.send_many)."""
    forwarding.send_many(forward_ids)


@shared_task(name="routing.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict:
    return forwarding.sweep()
