"""Connections (one configured account on a provider) and admin overrides of providers."""

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from core import catalog
from core.fields import EncryptedTextField
from core.validators import validate_header_name, validate_header_value, validate_rate

from ..specs import AUTH_SCHEMES, ProviderSpec


def validate_username(value: str) -> None:
    validate_header_value(value, "The username")
    if ":" in value:
        raise ValidationError("A Basic auth username cannot contain ':'.", code="invalid")


def validate_credentials(value: str) -> None:
    """Every auth scheme sends the secret in a header (bearer, API key, Basic, the OAuth2 token
    request's Basic auth)."""
    validate_header_value(value, "The credentials")


METHODS = [(m, m) for m in ("GET", "HEAD", "POST")]


class ProviderOverride(models.Model):
    """Admin-editable overrides of a built-in provider's defaults (blank: keep the code's)."""

    provider = models.CharField(
        max_length=50, unique=True, choices=catalog.api_choices, help_text="The provider changed."
    )
    base_url = models.URLField(
        "base URL", blank=True, help_text="e.g. a GitHub Enterprise Server API URL."
    )
    connect_timeout = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.1)], help_text="Seconds."
    )
    read_timeout = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.1)], help_text="Seconds."
    )
    max_retries = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Retries after the first attempt."
    )
    backoff_factor = models.FloatField(
        null=True, blank=True, help_text="Exponential backoff base, in seconds."
    )
    rate_limit = models.CharField(
        max_length=20, blank=True, validators=[validate_rate], help_text="e.g. 5000/h."
    )

    class Meta:
        verbose_name = "provider override"

    def __str__(self):
        return f"overrides for {self.provider}"


_specs: dict[str, tuple[float, ProviderSpec]] = {}


def provider_spec(key: str) -> ProviderSpec:
    """The code's ProviderSpec with the admin's ProviderOverride applied.

    A per-process read cache of configuration (HUB_PROVIDER_CACHE_SECONDS): the override is
    one query that every client built would otherwise repeat. Saving or deleting an override
    clears this process's copy at once; other processes pick it up within the TTL.
    """
    now = time.monotonic()
    hit = _specs.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    spec = catalog.apis()[key]
    override = ProviderOverride.objects.filter(provider=key).first()
    if override is not None:
        spec = spec.with_overrides(
            base_url=override.base_url,
            connect_timeout=override.connect_timeout,
            read_timeout=override.read_timeout,
            max_retries=override.max_retries,
            backoff_factor=override.backoff_factor,
            rate_limit=override.rate_limit,
        )
    _specs[key] = (now + settings.HUB_PROVIDER_CACHE_SECONDS, spec)
    return spec


@receiver([post_save, post_delete], sender=ProviderOverride)
def _forget_spec(sender, instance, **kwargs):
    _specs.pop(instance.provider, None)


class Connection(models.Model):
    class Status(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    name = models.CharField(max_length=200, help_text="What this account is, for people.")
    provider = models.CharField(
        max_length=50, choices=catalog.api_choices, help_text="The API this connection talks to."
    )
    enabled = models.BooleanField(default=True, help_text="A disabled connection makes no calls.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="connections",
        help_text="A user whose linked account this connection uses (optional).",
    )
    auth_scheme = models.CharField(
        max_length=30,
        blank=True,
        choices=list(AUTH_SCHEMES.items()),
        help_text="How to authenticate; blank: the provider's default.",
    )
    base_url = models.URLField(
        "base URL",
        blank=True,
        help_text="API root; blank: the provider's (e.g. a Shopify shop's admin URL).",
    )
    api_key_header = models.CharField(
        "API key header",
        max_length=100,
        blank=True,
        validators=[validate_header_name],
        help_text="API key scheme: header name (blank: provider's).",
    )
    username = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_username],
        help_text="Basic auth username, or OAuth2 client id.",
    )
    token_url = models.URLField(
        "token URL", blank=True, help_text="OAuth2 client credentials: token URL."
    )
    scope = models.CharField(max_length=500, blank=True, help_text="OAuth2: scopes to request.")
    credentials = EncryptedTextField(
        blank=True,
        default="",
        help_text="Token, API key, password or client secret; encrypted, write-only.",
    )
    credentials_rotated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the credentials were last replaced."
    )
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text="Our budget for this connection, shared by all processes (blank: provider's).",
    )
    health_check_method = models.CharField(
        max_length=6, blank=True, choices=METHODS, help_text="Health check: method."
    )
    health_check_path = models.CharField(
        max_length=300, blank=True, help_text="Health check: path (blank: the provider's)."
    )
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
    circuit_state = models.CharField(
        max_length=10, default="closed", help_text="Circuit breaker: closed, open or half_open."
    )
    rate_limit_remaining = models.IntegerField(
        null=True, blank=True, help_text="What the provider last said is left."
    )
    rate_limit_reset_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider's budget resets."
    )
    last_success_at = models.DateTimeField(null=True, blank=True, help_text="Last good call.")
    last_error_at = models.DateTimeField(null=True, blank=True, help_text="Last failed call.")
    last_error = models.TextField(blank=True, help_text="Last failure (secrets removed).")
    last_health_check_at = models.DateTimeField(
        null=True, blank=True, help_text="When the health check last ran."
    )
    last_health_check_ok = models.BooleanField(null=True, help_text="Its result.")
    last_health_check_message = models.TextField(blank=True, help_text="What it found.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When it was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When it last changed.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def spec(self) -> ProviderSpec:
        """The provider descriptor with admin overrides and this connection's settings."""
        spec = provider_spec(self.provider)
        health = None
        if self.health_check_path:
            health = (self.health_check_method or "GET", self.health_check_path)
        return spec.with_overrides(
            base_url=self.base_url,
            auth_scheme=self.auth_scheme,
            api_key_header=self.api_key_header,
            rate_limit=self.rate_limit,
            health_check=health,
        )

    LINKED = "linked_user"
    LINKED_LOCKED = (
        "provider", "owner_id", "auth_scheme", "base_url", "api_key_header", "username",
        "token_url", "scope", "health_check_method", "health_check_path", "credentials",
    )  # fmt: skip
    """What nobody may change on a linked account's connection: where its token goes and whose
    it is. Only linking an account (connections.tokens.capture) creates one."""

    @property
    def is_linked_account(self) -> bool:
        return self.auth_scheme == self.LINKED

    def acts_for(self, user) -> bool:
        """Whether ``user`` may make calls with this connection's credentials by hand (Test
        connection): anyone with the permission, except for a linked account's connection,
        whose token acts only for its owner."""
        return not self.is_linked_account or (user is not None and self.owner_id == user.pk)

    def check_linked_lock(self, new_credentials: bool = False) -> None:
        """ValidationError when this (unsaved) state would create a linked account's
        connection, or redirect or re-own an existing one (the admin and the API both call
        this before saving)."""
        original = type(self).objects.filter(pk=self.pk).first() if self.pk else None
        if original is None or not original.is_linked_account:
            if self.is_linked_account:
                raise ValidationError(
                    {
                        "auth_scheme": "Linked accounts' connections are created by their owner "
                        "linking a GitHub account, not by hand."
                    }  # fmt: skip
                )
            return
        changed = [f for f in self.LINKED_LOCKED if getattr(original, f) != getattr(self, f)]
        if new_credentials:
            changed.append("credentials")
        if changed:
            raise ValidationError(
                {
                    f.removesuffix("_id"): "This connection uses a user's linked GitHub account: "
                    "its token acts only for its owner, so where it is sent and whose it is "
                    "cannot be changed (only the name and enabled can)."
                    for f in changed
                }
            )

    def client(self):
        """The resilient client for this connection (connections.client.Client)."""
        from ..client import Client

        return Client(self)

    def set_status(self, status: str, reason: str = "") -> None:
        """Change the status (saved at once, inside the caller's transaction if any)."""
        Connection.objects.filter(pk=self.pk).update(
            status=status, status_reason=reason, status_changed_at=timezone.now()
        )
        self.status, self.status_reason = status, reason

    def mark_needs_attention(self, reason: str) -> None:
        """Flag the connection for a person (revoked access, refused credentials)."""
        self.set_status(self.Status.NEEDS_ATTENTION, reason)

    def set_credentials(self, secret: str) -> None:
        """Replace the secret; clears 'needs attention' caused by refused credentials."""
        self.credentials = secret
        self.credentials_rotated_at = timezone.now()
        if self.status == self.Status.NEEDS_ATTENTION:
            self.status, self.status_reason = self.Status.HEALTHY, "credentials replaced"
            self.status_changed_at = timezone.now()
