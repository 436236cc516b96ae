"""The hub's own state: alert incidents."""

from django.db import models
from django.db.models import Q


class Incident(models.Model):
    """An integration went down or needs attention; admins were told once, and are told again
    when it recovers (closed_at)."""

    class Kind(models.TextChoices):
        DOWN = "down", "Down"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    kind = models.CharField(max_length=20, choices=Kind.choices, help_text="What happened.")
    integration_kind = models.CharField(max_length=20, help_text="source or connection.")
    integration_id = models.CharField(max_length=64, help_text="Its id.")
    integration_name = models.CharField(max_length=200, help_text="Its name at the time.")
    reason = models.TextField(help_text="The rule that decided it.")
    opened_at = models.DateTimeField(auto_now_add=True, help_text="When it started.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it recovered.")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "integration_kind", "integration_id"],
                condition=Q(closed_at__isnull=True),
                name="hub_one_open_incident",
            )
        ]

    def __str__(self):
        return f"{self.integration_name} {self.kind} since {self.opened_at:%Y-%m-%d %H:%M}"
