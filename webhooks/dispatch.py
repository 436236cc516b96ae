"""Handing stored deliveries to the Celery workers (ids only)."""

import logging

logger = logging.getLogger(__name__)


def enqueue(delivery_id: int, countdown: float | None = None) -> bool:
    """Publish ``process_delivery(delivery_id)``; never raises.

    Returns False when the broker refused; the row stays ``queued`` and the periodic sweep
    publishes it again, so the broker is never the only copy of the work.
    """
    from .tasks import process_delivery

    try:
        process_delivery.apply_async((delivery_id,), countdown=countdown, retry=False)
    except Exception:
        logger.warning("webhooks.enqueue.failed", extra={"delivery_id": delivery_id}, exc_info=True)
        return False
    return True
