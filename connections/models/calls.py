"""The record of outbound calls and the per-minute rollups that health pages read."""

from django.db import models

from core.rollups import ErrorGroupBase, LatencyBuckets

from .connection import Connection


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
    is_test = models.BooleanField(
        default=False, help_text="Made by a health check (Test connection or the periodic one)."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="conn_call_recent")]

    def __str__(self):
        return f"{self.method} {self.path} -> {self.status_code or self.error_class}"


class CallRollup(LatencyBuckets):
    """Per connection per minute: counts and latency, kept longer than the call records."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="rollups", help_text="The connection."
    )
    minute = models.DateTimeField(help_text="Start of the minute (UTC).")
    calls = models.PositiveIntegerField(
        default=0, help_text="Calls started in the minute, test calls included."
    )
    failures = models.PositiveIntegerField(default=0, help_text="Of which failed.")
    tests = models.PositiveIntegerField(default=0, help_text="Of which health checks.")
    failed_auth = models.PositiveIntegerField(default=0, help_text="Failures: AuthFailed.")
    failed_not_found = models.PositiveIntegerField(default=0, help_text="Failures: NotFound.")
    failed_client = models.PositiveIntegerField(default=0, help_text="Failures: ClientError.")
    failed_rate_limited = models.PositiveIntegerField(default=0, help_text="Failures: RateLimited.")
    failed_unavailable = models.PositiveIntegerField(
        default=0, help_text="Failures: ProviderUnavailable."
    )
    failed_other = models.PositiveIntegerField(default=0, help_text="Failures of any other class.")

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "minute"], name="conn_rollup_unique")
        ]
        indexes = [models.Index(fields=["minute"], name="conn_rollup_minute")]

    def __str__(self):
        return f"{self.connection_id} {self.minute:%H:%M}: {self.calls} calls"


class CallErrorGroup(ErrorGroupBase):
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="error_groups", help_text="Connection."
    )
    example_call = models.ForeignKey(
        CallRecord,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The newest call that failed this way.",
    )

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "fingerprint"], name="conn_error_group_unique"
            )
        ]

    def __str__(self):
        return f"{self.error_class}: {self.message[:60]} x{self.count}"
