"""One row per finished processing attempt (written with its outcome; a running attempt is the
delivery's claim, and the sweep writes the row of one whose worker died)."""

from django.db import models

from .delivery import Delivery


class Attempt(models.Model):
    class Outcome(models.TextChoices):
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Failed (dead)"
        LOST = "lost", "Worker lost"

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_set", help_text="The delivery."
    )
    number = models.PositiveIntegerField(help_text="1 for the first attempt, replays included.")
    started_at = models.DateTimeField(help_text="When the worker claimed the delivery.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it ended.")
    duration_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time in the handler, in milliseconds."
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, help_text="How it ended.")
    error_class = models.CharField(max_length=200, blank=True, help_text="Exception class.")
    error_message = models.TextField(blank=True, help_text="Exception message (secrets removed).")
    traceback = models.TextField(blank=True, help_text="Traceback (secrets removed).")
    worker = models.CharField(max_length=200, blank=True, help_text="Host and pid of the worker.")
    replayed_by = models.CharField(
        max_length=150,
        blank=True,
        help_text="Who replayed the delivery for this attempt (blank: not a replay).",
    )

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhooks_attempt_unique_number"
            )
        ]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.outcome}"
