"""Payload retention: old bodies and headers go, the delivery row (id, times, outcome,
attempts) stays, so counts and health history survive. Erasing one on request is a delivery
operation (webhooks.operations.erase)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import Delivery, Source


def purge_payloads() -> int:
    """Blank bodies and headers older than each source's ``retention_days``, in batches of
    HUB_PURGE_BATCH rows; deliveries still in flight are left for a later run."""
    now = timezone.now()
    total = 0
    for source_id, days in Source.objects.values_list("pk", "retention_days"):
        cutoff = now - timedelta(days=days)
        while True:
            ids = list(
                Delivery.objects.filter(
                    source_id=source_id, received_at__lt=cutoff, payload_removed_at__isnull=True
                )
                .exclude(status__in=Delivery.Status.IN_FLIGHT)
                .values_list("pk", flat=True)[: settings.HUB_PURGE_BATCH]
            )
            if not ids:
                break
            total += Delivery.objects.filter(pk__in=ids).update(
                body=b"",
                headers={},
                payload_removed_at=now,
                payload_removed_reason=f"retention ({days} days)",
            )
    return total
