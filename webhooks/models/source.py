"""The inbound data model: webhook sources and the log of every delivery they receive."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core import catalog
from core.fields import EncryptedTextField
from core.urls import public_url
from core.validators import validate_header_name, validate_rate, validate_retry_schedule

from ..signatures import DIGESTS, ENCODINGS


def retry_delays(schedule) -> list[float]:
    """A source's retry schedule in seconds: its own, else HUB_RETRY_SCHEDULE. A stored schedule
    that is not valid (written around the validators) counts as the default, so a delivery
    never sticks in processing over it."""
    if schedule is not None:
        try:
            validate_retry_schedule(schedule)
        except ValidationError:
            schedule = None
    return list(settings.HUB_RETRY_SCHEDULE if schedule is None else schedule)


class Source(models.Model):
    """A place a provider sends webhooks to, at ``/webhooks/<id>/``.

    The id is a random UUID (122 random bits): the receiving URL cannot be guessed, and knowing it
    still does not let anyone past signature verification.
    """

    id = models.UUIDField(
        primary_key=True,
        default=uuid.uuid4,
        editable=False,
        help_text="Random id; the receiving URL is /webhooks/<id>/.",
    )
    name = models.CharField(max_length=200, help_text="What this source is, for people.")
    provider = models.CharField(
        max_length=20,
        choices=catalog.receiver_choices,
        help_text="Who sends to it; decides the signature scheme and how events are read.",
    )
    enabled = models.BooleanField(
        default=True, help_text="A disabled source answers 404 and stores nothing new."
    )
    secret = EncryptedTextField(
        help_text="Signing secret, encrypted at rest. Write-only: shown once when set."
    )
    previous_secret = EncryptedTextField(
        blank=True, default="", help_text="The secret before the last rotation, encrypted."
    )
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until then the previous secret still verifies."
    )
    secret_rotated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the secret was last rotated."
    )
    signature_header = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_header_name],
        help_text="Generic HMAC only: header carrying the signature, e.g. X-Signature.",
    )
    signature_digest = models.CharField(
        max_length=10,
        choices=[(d, d) for d in DIGESTS],
        default="sha256",
        help_text="Generic HMAC only: hash function.",
    )
    signature_encoding = models.CharField(
        max_length=10,
        choices=[(e, e) for e in ENCODINGS],
        default="hex",
        help_text="Generic HMAC only: how the digest is written in the header.",
    )
    signature_prefix = models.CharField(
        max_length=20,
        blank=True,
        help_text="Generic HMAC only: text before the digest, e.g. sha256=.",
    )
    id_header = models.CharField(
        "ID header",
        max_length=100,
        blank=True,
        validators=[validate_header_name],
        help_text="Generic HMAC only: header with the sender's delivery id (drops duplicates).",
    )
    event_header = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_header_name],
        help_text="Generic HMAC only: header naming the event type.",
    )
    max_body_bytes = models.PositiveIntegerField(
        default=settings.HUB_WEBHOOK_MAX_BODY_BYTES,
        validators=[
            MinValueValidator(1024),
            MaxValueValidator(settings.HUB_REQUEST_BODY_CEILING),
        ],
        help_text="Bodies larger than this are refused with 413 (reading stops at the limit).",
    )
    rate_limit = models.CharField(
        max_length=20,
        default=settings.HUB_WEBHOOK_RATE_LIMIT,
        validators=[validate_rate],
        help_text="Requests accepted per period before 429, e.g. 6000/m.",
    )
    connection = models.ForeignKey(
        "connections.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sources",
        help_text="The account these webhooks are about (flagged when it revokes our access).",
    )

    class Handling(models.TextChoices):
        BUILT_IN = "built_in", "Built-in handlers (the provider's dispatch table)"
        ROUTES = "routes", "Routes only (handlers run as handler destinations)"

    handling = models.CharField(
        max_length=10,
        choices=Handling.choices,
        default=Handling.BUILT_IN,
        help_text=(
            "Built-in: each delivery runs the provider's handler for its event type, then its "
            "routes. Routes only: no built-in handler runs; routes to handler destinations run "
            "them with the forward machinery (per-route retries, ordering, pause, replay). "
            "`manage.py route_builtin_handlers` makes those routes and switches this. Takes "
            "effect within HUB_SOURCE_CACHE_SECONDS."
        ),
    )
    retry_schedule = models.JSONField(
        null=True,
        blank=True,
        validators=[validate_retry_schedule],
        help_text=(
            "Seconds to wait before each retry, e.g. [5, 300, 1800]; after the last one the "
            "delivery is dead. Empty: the hub's default (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h)."
        ),
    )
    retention_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1)],
        help_text="Bodies and headers older than this are purged (outcomes and counts are kept).",
    )
    last_success_at = models.DateTimeField(
        null=True, blank=True, help_text="When a delivery was last processed or ignored."
    )
    last_error_at = models.DateTimeField(
        null=True, blank=True, help_text="When a delivery last failed, died or was refused."
    )
    verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the provider last proved the URL works (e.g. GitHub ping).",
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the source was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="When the source last changed.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def receiver(self):
        return catalog.get(self.provider).receiver

    def get_receive_path(self) -> str:
        return reverse("webhooks:receive", args=[self.pk])

    def receiving_url(self, request=None) -> str:
        """The full URL to give the provider (HUB_PUBLIC_URL, else the request's origin)."""
        return public_url(self.get_receive_path(), request)

    def valid_secrets(self, now=None) -> list[str]:
        """The secrets that verify right now: the current one, then the previous during grace."""
        now = now or timezone.now()
        secrets = [self.secret]
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires and expires > now:
            secrets.append(self.previous_secret)
        return secrets

    def set_secret(self, new_secret: str | None = None, grace: timedelta | None = None) -> str:
        """Replace the secret (generated when ``new_secret`` is empty) and return it.

        The old secret keeps verifying for ``grace`` (default HUB_SECRET_ROTATION_GRACE_SECONDS)
        so senders can switch without losing deliveries. The caller saves the model.
        """
        new_secret = new_secret or self.receiver.generate_secret()
        self.receiver.validate_secret(new_secret)
        if self.secret:
            if grace is None:
                grace = timedelta(seconds=settings.HUB_SECRET_ROTATION_GRACE_SECONDS)
            self.previous_secret = self.secret
            self.previous_secret_expires_at = timezone.now() + grace
            self.secret_rotated_at = timezone.now()
        self.secret = new_secret
        return new_secret

    def retry_delays(self) -> list[float]:
        """The retry schedule in seconds (see ``retry_delays``)."""
        return retry_delays(self.retry_schedule)

    def check_connection(self) -> None:
        """ValidationError when this source would be attached to a user's linked account's
        connection by hand: its handlers would then act with that user's token. Such sources
        are created by the owner (Linked accounts > Connect) and keep their connection."""
        connection = self.connection
        if connection is None or not connection.is_linked_account:
            return
        before = type(self).objects.filter(pk=self.pk).values_list("connection_id", flat=True)
        if self._state.adding or before.first() != connection.pk:
            raise ValidationError(
                {
                    "connection": "This is a user's linked GitHub account; only its owner attaches "
                    "it to a source, by connecting a repository."
                }  # fmt: skip
            )

    def check_generic(self) -> None:
        """ValidationError when a generic HMAC source has no signature header (admin and API)."""
        if self.provider == "generic" and not self.signature_header:
            raise ValidationError(
                {"signature_header": "A generic HMAC source needs a header name."}
            )

    def clean(self):
        self.check_connection()
        self.check_generic()
