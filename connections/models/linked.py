"""OAuth tokens of users' linked accounts, encrypted (allauth's SocialToken table stays empty)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.fields import EncryptedTextField

from .connection import Connection


class AccountToken(models.Model):
    """The tokens of one linked account (an allauth SocialAccount), and the Connection that
    acts for its user through the resilient client (auth scheme ``linked_user``)."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        EXPIRING = "expiring", "Expiring"
        REFRESH_FAILED = "refresh_failed", "Needs re-authorization"
        REVOKED = "revoked", "Revoked"

    account = models.OneToOneField(
        "socialaccount.SocialAccount",
        on_delete=models.CASCADE,
        related_name="hub_token",
        help_text="The linked account (allauth).",
    )
    connection = models.OneToOneField(
        Connection,
        on_delete=models.CASCADE,
        related_name="account_token",
        help_text="The connection that calls the provider with this token.",
    )
    access_token = EncryptedTextField(help_text="Encrypted access token.")
    refresh_token = EncryptedTextField(
        blank=True, default="", help_text="Encrypted refresh token (single-use on GitHub)."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the access token expires (none: it does not)."
    )
    scopes = models.CharField(
        max_length=500, blank=True, help_text="Scopes granted, as the provider reports them."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.VALID, help_text="Token health."
    )
    status_reason = models.TextField(blank=True, help_text="Why, when not valid.")
    linked_at = models.DateTimeField(auto_now_add=True, help_text="When it was first linked.")
    refreshed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the access token was last refreshed."
    )

    class Meta:
        verbose_name = "linked account token"

    def __str__(self):
        return f"token of {self.account}"

    def expiring(self, margin: timedelta | None = None) -> bool:
        """True when the access token expires within ``margin`` (HUB_TOKEN_REFRESH_MARGIN)."""
        if self.expires_at is None:
            return False
        margin = margin or timedelta(seconds=settings.HUB_TOKEN_REFRESH_MARGIN)
        return self.expires_at - timezone.now() <= margin

    @property
    def display_status(self) -> str:
        if self.status == self.Status.VALID and self.expiring():
            return self.Status.EXPIRING.label
        return self.get_status_display()
