"""Celery tasks of routing (ids only, acks_late)."""

from celery import shared_task

from . import forwarding


@shared_task(name="routing.forward", acks_late=True, ignore_result=True)
def forward(forward_id: int) -> str | None:
    """Send one forward (routing.forwarding.send)."""
    return forwarding.send(forward_id)


@shared_task(name="routing.forward_batch", acks_late=True, ignore_result=True)
def forward_batch(forward_ids: list[int]) -> None:
    """Send several forwards of one destination, one after the other, each on its own claim."""
    for pk in forward_ids:
        forwarding.send(pk)


@shared_task(name="routing.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict:
    return forwarding.sweep()
