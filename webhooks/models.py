"""The inbound data model: webhook sources and the log of every delivery they receive."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping

from connections.fields import EncryptedTextField

from .receivers import RECEIVERS
from .signatures import DIGESTS, ENCODINGS

rate_validator = RegexValidator(
    r"^\d+/\d*[smhd]$", "Use '<count>/<period>' with period s, m, h or d, e.g. '600/m' or '10/5s'."
)


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
        choices=[(key, r.label) for key, r in RECEIVERS.items()],
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
        max_length=100,
        blank=True,
        help_text="Generic HMAC only: header with the sender's delivery id (drops duplicates).",
    )
    event_header = models.CharField(
        max_length=100, blank=True, help_text="Generic HMAC only: header naming the event type."
    )
    max_body_bytes = models.PositiveIntegerField(
        default=settings.HUB_WEBHOOK_MAX_BODY_BYTES,
        validators=[MinValueValidator(1024)],
        help_text="Bodies larger than this are refused with 413 (reading stops at the limit).",
    )
    rate_limit = models.CharField(
        max_length=20,
        default=settings.HUB_WEBHOOK_RATE_LIMIT,
        validators=[rate_validator],
        help_text="Requests accepted per period before 429, e.g. 6000/m.",
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
        return RECEIVERS[self.provider]

    def get_receive_path(self) -> str:
        return reverse("webhooks:receive", args=[self.pk])

    def receiving_url(self, request=None) -> str:
        """The full URL to give the provider (HUB_PUBLIC_URL, else the request's origin)."""
        base = settings.HUB_PUBLIC_URL
        if not base and request is not None:
            base = f"{request.scheme}://{request.get_host()}"
        base = base or f"http://127.0.0.1:{settings.HUB_PORT}"
        return f"{base}{self.get_receive_path()}"

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

    def clean(self):
        if self.provider == "generic" and not self.signature_header:
            raise ValidationError(
                {"signature_header": "A generic HMAC source needs a header name."}
            )


class Delivery(models.Model):
    """One HTTP request received at a source's URL: accepted deliveries and rejected requests.

    Accepted rows hold the raw body byte-for-byte. Rejected rows (bad signature, too large,
    rate limited, ...) keep the reason and at most HUB_REJECTED_BODY_BYTES of the body.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        RETRYING = "retrying", "Retrying"
        DEAD = "dead", "Dead"
        IGNORED = "ignored", "Ignored"
        REJECTED = "rejected", "Rejected"

    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="deliveries",
        help_text="The source whose URL received the request.",
    )
    provider = models.CharField(
        max_length=20, help_text="The source's provider when the request arrived."
    )
    event_type = models.CharField(
        max_length=200, blank=True, help_text="The provider's event type, e.g. pull_request.opened."
    )
    # NULL, not "": a delivery without an id must not collide in the unique constraint.
    external_id = models.CharField(  # noqa: DJ001
        max_length=255,
        null=True,
        blank=True,
        help_text="The provider's delivery id (X-GitHub-Delivery, Stripe event id, ...).",
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, help_text="Where it is now."
    )
    received_at = models.DateTimeField(
        default=timezone.now, help_text="When the hub received the request."
    )
    headers = models.JSONField(
        default=dict, help_text="Request headers; credentials (Authorization, Cookie) are masked."
    )
    body = models.BinaryField(help_text="The raw body exactly as received (truncated if rejected).")
    body_size = models.PositiveIntegerField(
        default=0, help_text="Size of the body the sender announced or sent, in bytes."
    )
    remote_addr = models.GenericIPAddressField(
        null=True, blank=True, help_text="The sender's IP address."
    )
    http_status = models.PositiveSmallIntegerField(
        default=202, help_text="The HTTP status the hub answered."
    )
    error = models.TextField(
        blank=True, help_text="Why it was rejected or ignored, or the last processing error."
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Processing attempts so far.")
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text="When processing reached its outcome."
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # Idempotency: one accepted delivery per provider delivery id and source. Rejected
            # requests are excluded so a forged request cannot squat on a real delivery's id.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False) & ~Q(status="rejected"),
                name="webhooks_delivery_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["source", "-received_at"], name="webhooks_dl_source_recv"),
            models.Index(fields=["status", "-received_at"], name="webhooks_dl_status_recv"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.provider} {self.event_type or '-'} ({self.status})"

    def headers_view(self) -> CaseInsensitiveMapping:
        """The stored headers, looked up case-insensitively as receivers expect."""
        return CaseInsensitiveMapping(self.headers or {})

    @property
    def body_text(self) -> str:
        """The body as text (UTF-8; undecodable bytes shown as U+FFFD)."""
        return bytes(self.body).decode("utf-8", errors="replace")
