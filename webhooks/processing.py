"""Processing one stored delivery: claim it, dispatch it, record the outcome.

Contract of ``process(delivery_id)``: a delivery in ``queued`` or ``retrying`` is claimed under a
row lock (``select_for_update(skip_locked=True)``: one worker at a time) and ends, in the same
transaction as the handler's own writes, as ``processed`` (its handler returned), ``ignored`` (no
handler for its event type, with the reason) or ``dead`` (the handler raised; the error is
kept). Any other status, or a row another worker holds, is left alone. Returns the new status or
None.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .events import Event
from .models import Delivery

logger = logging.getLogger(__name__)
CLAIMABLE = (Delivery.Status.QUEUED, Delivery.Status.RETRYING)


def process(delivery_id: int) -> str | None:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("source")
            .filter(pk=delivery_id, status__in=CLAIMABLE)
            .first()
        )
        if delivery is None:
            return None
        receiver = delivery.source.receiver
        delivery.attempts += 1
        handler = receiver.handlers.get(delivery.event_type)
        if handler is None:
            reason = (
                "ignored on purpose"
                if delivery.event_type in receiver.ignored_events
                else "no handler registered"
            )
            delivery.status = Delivery.Status.IGNORED
            delivery.error = (
                f"{delivery.provider} event {delivery.event_type or '(none)'}: {reason}"
            )
        else:
            try:
                with transaction.atomic():
                    handler(_event(delivery, receiver))
                delivery.status, delivery.error = Delivery.Status.PROCESSED, ""
            except Exception as exc:
                logger.warning("webhooks.process.failed", extra={"delivery_id": delivery_id})
                delivery.status = Delivery.Status.DEAD
                delivery.error = f"{type(exc).__name__}: {exc}"
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["status", "error", "attempts", "processed_at"])
        return delivery.status


def _event(delivery: Delivery, receiver) -> Event:
    body = bytes(delivery.body)
    return Event(
        provider=delivery.provider,
        type=delivery.event_type,
        delivery_id=delivery.pk,
        external_id=delivery.external_id,
        payload=receiver.parse(body, delivery.headers_view()),
        source=delivery.source,
    )
