"""Health data of webhook sources: per-minute rollups and grouped errors (outlive payloads)."""

from django.db import models

from core.rollups import ErrorGroupBase, LatencyBuckets

from .delivery import Delivery
from .source import Source


class DeliveryRollup(LatencyBuckets):
    """Per source per minute: the figures of hub/figures.py (arrivals, refusals by reason,
    current outcomes, attempts, replays) and the processing time of attempts (the buckets)."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="rollups", help_text="The source."
    )
    minute = models.DateTimeField(help_text="Start of the minute (UTC).")
    # Arrivals, by the minute the request arrived (never change afterwards).
    received = models.PositiveIntegerField(default=0, help_text="Deliveries accepted.")
    refused = models.PositiveIntegerField(default=0, help_text="Requests refused, any reason.")
    refused_signature = models.PositiveIntegerField(
        default=0, help_text="Refused: signature missing, wrong or expired (401)."
    )
    refused_size = models.PositiveIntegerField(
        default=0, help_text="Refused: body too large (413)."
    )
    refused_rate = models.PositiveIntegerField(default=0, help_text="Refused: over the rate (429).")
    refused_invalid = models.PositiveIntegerField(
        default=0, help_text="Refused: unreadable body or request (400, 404)."
    )
    # Outcomes, by the minute the delivery finished. A replay takes a delivery out of the count
    # of its old outcome, so these hold each delivery's current outcome once (and may be
    # decremented: plain integers).
    processed = models.IntegerField(default=0, help_text="Deliveries whose outcome is processed.")
    ignored = models.IntegerField(default=0, help_text="Deliveries whose outcome is ignored.")
    dead = models.IntegerField(default=0, help_text="Deliveries whose outcome is dead.")
    # Attempts, by the minute they ended.
    attempts = models.PositiveIntegerField(default=0, help_text="Processing attempts that ended.")
    failed_attempts = models.PositiveIntegerField(
        default=0, help_text="Attempts that did not succeed (failed, dead or lost worker)."
    )
    replays = models.PositiveIntegerField(
        default=0, help_text="Attempts that a person's (or the shell's) replay started."
    )

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
