"""Repository webhooks the hub registered on GitHub for a user, and the redeliveries it asked
GitHub for (GitHub never retries a failed delivery by itself)."""

from django.conf import settings
from django.db import models

from .source import Source


class RepositoryHook(models.Model):
    source = models.OneToOneField(
        Source,
        on_delete=models.CASCADE,
        related_name="repository_hook",
        help_text="The source that receives this repository's events.",
    )
    connection = models.ForeignKey(
        "connections.Connection",
        on_delete=models.CASCADE,
        related_name="repository_hooks",
        help_text="The linked account (its connection) that created the hook.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="repository_hooks",
        help_text="The user who connected the repository.",
    )
    repo = models.CharField(max_length=300, help_text="owner/name on GitHub.")
    hook_id = models.BigIntegerField(help_text="GitHub's id of the repository webhook.")
    events = models.JSONField(default=list, help_text="Events GitHub sends, e.g. push.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was connected.")
    redelivery_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When GitHub's delivery log was last checked."
    )

    class Meta:
        ordering = ["repo"]

    def __str__(self):
        return f"{self.repo} (hook {self.hook_id})"


class RedeliveryRequest(models.Model):
    """One delivery the hub asked GitHub to send again (failed, or never stored here)."""

    hook = models.ForeignKey(
        RepositoryHook, on_delete=models.CASCADE, related_name="redeliveries", help_text="Hook."
    )
    guid = models.CharField(max_length=100, help_text="X-GitHub-Delivery of the delivery.")
    github_delivery_id = models.BigIntegerField(help_text="GitHub's id in the hook's log.")
    reason = models.CharField(max_length=200, help_text="Why: failed, or never stored.")
    requested_at = models.DateTimeField(auto_now_add=True, help_text="When it was asked for.")
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the redelivered delivery was stored."
    )

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["hook", "guid"], name="webhooks_redelivery_once")
        ]

    def __str__(self):
        return f"redelivery of {self.guid}"
