"""The record of outbound calls and the per-minute rollups that health pages read."""

from django.db import models

from .connection import Connection

# Upper bounds (ms) of the latency histogram columns; the last column counts the rest.
LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000)


class CallRecord(models.Model):
    """One call through a connection's client (after its retries)."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="calls", help_text="Who called."
    )
    started_at = models.DateTimeField(help_text="When the call started.")
    method = models.CharField(max_length=10, help_text="HTTP method.")
    path = models.CharField(max_length=500, help_text="Path without the query string.")
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Final HTTP status (none if no answer)."
    )
    duration_ms = models.PositiveIntegerField(help_text="Total time, retries included.")
    attempts = models.PositiveSmallIntegerField(default=1, help_text="HTTP attempts made.")
    error_class = models.CharField(
        max_length=100, blank=True, help_text="IntegrationError subclass, if it failed."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="conn_call_recent")]

    def __str__(self):
        return f"{self.method} {self.path} -> {self.status_code or self.error_class}"


class CallRollup(models.Model):
    """Per connection per minute: counts and latency, kept longer than the call records."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="rollups", help_text="The connection."
    )
    minute = models.DateTimeField(help_text="Start of the minute (UTC).")
    calls = models.PositiveIntegerField(default=0, help_text="Calls finished in the minute.")
    failures = models.PositiveIntegerField(default=0, help_text="Of which failed.")
    total_ms = models.PositiveBigIntegerField(default=0, help_text="Sum of durations.")
    max_ms = models.PositiveIntegerField(default=0, help_text="Slowest call.")
    le_25ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 25 ms.")
    le_50ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 50 ms.")
    le_100ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 100 ms.")
    le_250ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 250 ms.")
    le_500ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 500 ms.")
    le_1000ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 1000 ms.")
    le_2500ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 2500 ms.")
    le_5000ms = models.PositiveIntegerField(default=0, help_text="Calls of at most 5000 ms.")
    gt_last = models.PositiveIntegerField(default=0, help_text="Calls slower than 5000 ms.")

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "minute"], name="conn_rollup_unique")
        ]

    def __str__(self):
        return f"{self.connection_id} {self.minute:%H:%M}: {self.calls} calls"


BUCKET_FIELDS = [f"le_{ms}ms" for ms in LATENCY_BUCKETS_MS] + ["gt_last"]


def bucket_field(duration_ms: int) -> str:
    for ms, name in zip(LATENCY_BUCKETS_MS, BUCKET_FIELDS, strict=False):
        if duration_ms <= ms:
            return name
    return "gt_last"
