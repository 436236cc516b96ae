"""Health data of webhook sources: per-minute rollups and grouped errors (outlive payloads)."""

from django.db import models

from connections.rollups import ErrorGroupBase, LatencyBuckets

from .delivery import Delivery
from .source import Source


class DeliveryRollup(LatencyBuckets):
    """Per source per minute: deliveries received and refused, processing outcomes, and the
    processing time of attempts (the latency buckets)."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="rollups", help_text="The source."
    )
    minute = models.DateTimeField(help_text="Start of the minute (UTC).")
    received = models.PositiveIntegerField(default=0, help_text="Deliveries accepted.")
    rejected = models.PositiveIntegerField(default=0, help_text="Requests refused.")
    processed = models.PositiveIntegerField(default=0, help_text="Attempts that succeeded.")
    ignored = models.PositiveIntegerField(default=0, help_text="Deliveries ignored.")
    failed = models.PositiveIntegerField(default=0, help_text="Attempts that failed (retried).")
    dead = models.PositiveIntegerField(default=0, help_text="Deliveries that died.")

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(fields=["source", "minute"], name="webhooks_rollup_unique")
        ]
        indexes = [models.Index(fields=["minute"], name="webhooks_rollup_minute")]

    def __str__(self):
        return f"{self.source_id} {self.minute:%H:%M}"


class DeliveryErrorGroup(ErrorGroupBase):
    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="error_groups", help_text="The source."
    )
    example_delivery = models.ForeignKey(
        Delivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The newest delivery that failed this way.",
    )

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "fingerprint"], name="webhooks_error_group_unique"
            )
        ]

    def __str__(self):
        return f"{self.error_class}: {self.message[:60]} x{self.count}"
