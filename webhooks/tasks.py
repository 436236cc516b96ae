"""Celery tasks of the inbound side. Tasks take ids only."""

from celery import shared_task

from . import processing


@shared_task(name="webhooks.process_delivery", acks_late=True, ignore_result=True)
def process_delivery(delivery_id: int) -> str | None:
    """Process one stored delivery (see webhooks.processing.process)."""
    return processing.process(delivery_id)
