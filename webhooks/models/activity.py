"""What the built-in handlers record: repositories a source covers, compact activity."""

from django.db import models

from .delivery import Delivery
from .source import Source


class SourceRepository(models.Model):
    """A repository a GitHub source receives events for (from installation events)."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="repositories", help_text="The source."
    )
    repo_id = models.BigIntegerField(help_text="GitHub's repository id.")
    full_name = models.CharField(max_length=300, help_text="owner/name.")
    installation_id = models.BigIntegerField(
        null=True, blank=True, help_text="GitHub App installation that grants it."
    )
    added_at = models.DateTimeField(auto_now_add=True, help_text="When it was first recorded.")

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "source repositories"
        constraints = [
            models.UniqueConstraint(fields=["source", "repo_id"], name="webhooks_repo_unique")
        ]

    def __str__(self):
        return self.full_name


class Activity(models.Model):
    """A compact line per push or pull request event, for people to skim."""

    source = models.ForeignKey(
        Source, on_delete=models.CASCADE, related_name="activity", help_text="The source."
    )
    delivery = models.OneToOneField(
        Delivery,
        on_delete=models.CASCADE,
        related_name="activity",
        help_text="The delivery it came from (one entry per delivery, replays included).",
    )
    kind = models.CharField(max_length=50, help_text="push, pull_request.opened, ...")
    repo = models.CharField(max_length=300, blank=True, help_text="owner/name.")
    ref = models.CharField(max_length=300, blank=True, help_text="Branch or tag (pushes).")
    pr_number = models.PositiveIntegerField(null=True, blank=True, help_text="Pull request.")
    sender = models.CharField(max_length=200, blank=True, help_text="Who did it.")
    commit_count = models.PositiveIntegerField(default=0, help_text="Commits in a push.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was recorded.")

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "activity"

    def __str__(self):
        what = f"#{self.pr_number}" if self.pr_number else self.ref
        return f"{self.kind} {self.repo} {what} by {self.sender}"
