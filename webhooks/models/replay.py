"""Bulk replays run as background jobs with visible progress."""

from django.conf import settings
from django.db import models


class ReplayJob(models.Model):
    """Replay every delivery a filter matches, in id order, in batches.

    ``filters`` holds the DeliveryFilter parameters (source, provider, status, event_type,
    received_after, received_before). Progress survives restarts: ``last_id`` is the highest
    delivery id handled, and the job resumes after it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    filters = models.JSONField(default=dict, help_text="Which deliveries to replay.")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, help_text="Job state."
    )
    total = models.PositiveIntegerField(default=0, help_text="Deliveries matching at the start.")
    replayed = models.PositiveIntegerField(default=0, help_text="Deliveries queued again so far.")
    skipped = models.PositiveIntegerField(
        default=0, help_text="Matching deliveries left alone (in flight, or rejected)."
    )
    last_id = models.BigIntegerField(default=0, help_text="Highest delivery id handled so far.")
    cancel_requested = models.BooleanField(
        default=False, help_text="Set to stop the job after its current batch."
    )
    error = models.TextField(blank=True, help_text="Why the job failed, if it did.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Who started it.",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was requested.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When it started.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it ended.")

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"replay job {self.pk} ({self.status}, {self.replayed}/{self.total})"

    @property
    def progress(self) -> float:
        """Fraction done, 0..1."""
        if self.status == self.Status.DONE:
            return 1.0
        handled = self.replayed + self.skipped
        return min(1.0, handled / self.total) if self.total else 0.0
