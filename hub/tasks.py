"""Celery tasks of the hub itself."""

from celery import shared_task

from . import alerts


@shared_task(name="hub.evaluate_alerts", acks_late=True, ignore_result=True)
def evaluate_alerts() -> dict:
    return alerts.evaluate()
