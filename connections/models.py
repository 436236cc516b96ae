"""Connections: one configured account on a third-party API.

This first cut holds what the inbound side needs (a status that lifecycle webhooks can flag);
credentials, the provider descriptor and the resilient client come with the connections issue.
"""

from django.db import models
from django.utils import timezone


class Connection(models.Model):
    class Status(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    name = models.CharField(max_length=200, help_text="What this account is, for people.")
    provider = models.CharField(
        max_length=50, help_text="The API it talks to: github, stripe, slack, shopify, generic."
    )
    enabled = models.BooleanField(default=True, help_text="A disabled connection makes no calls.")
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.HEALTHY,
        help_text="Current health; 'needs attention' waits for a person (e.g. revoked access).",
    )
    status_reason = models.TextField(blank=True, help_text="Why it has this status.")
    status_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the status last changed."
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was created.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.provider})"

    def mark_needs_attention(self, reason: str) -> None:
        """Flag the connection for a person; saved at once (inside the caller's transaction)."""
        self.status = self.Status.NEEDS_ATTENTION
        self.status_reason = reason
        self.status_changed_at = timezone.now()
        self.save(update_fields=["status", "status_reason", "status_changed_at"])
