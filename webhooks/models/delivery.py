"""The delivery log: one row per request received at a source's URL."""

from enum import nonmember

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping

from .source import Source


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

        # Groups of statuses (not choices). Every caller reads these, so they cannot disagree:
        # ``retrying`` is in flight (a worker will act on it), claimable once due, and
        # replayable (replaying runs it now instead of at its next attempt).
        IN_FLIGHT = nonmember(frozenset({"queued", "processing", "retrying"}))
        """Not finished: the health pages' "pending"; neither erased nor purged."""
        CLAIMABLE = nonmember(frozenset({"queued", "retrying"}))
        """A worker may claim it (a retrying one when it is due)."""
        FINISHED = nonmember(frozenset({"processed", "ignored", "dead"}))
        """Ended with an outcome the health figures count."""
        REPLAYABLE = nonmember(frozenset({"processed", "ignored", "dead", "retrying"}))
        """Support may queue it again (its payload must still be there)."""

    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        related_name="deliveries",
        db_index=False,  # webhooks_dl_source_recv (source, received_at) serves it
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
    headers_cut = models.PositiveIntegerField(
        default=0,
        help_text="Header bytes not stored (over HUB_STORED_HEADER_BYTES); 0: all were kept.",
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
    attempts = models.PositiveIntegerField(
        default=0, help_text="Processing attempts so far, replays included (see Attempt rows)."
    )
    tries = models.PositiveIntegerField(
        default=0,
        help_text="Attempts since it was last queued or replayed; the retry schedule counts these.",
    )
    queued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it was last handed to the workers (received, replayed or re-published).",
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a retrying delivery is due again."
    )
    claimed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker claimed it (status processing)."
    )
    claimed_by = models.CharField(
        max_length=200, blank=True, help_text="The worker (host and pid) that claimed it."
    )
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text="When processing reached its outcome."
    )
    replay_requested_by = models.CharField(
        max_length=150,
        blank=True,
        help_text="Who queued it again, until its next attempt records the replay.",
    )
    replay_job = models.ForeignKey(
        "webhooks.ReplayJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # webhooks_dl_replay_job: only rows a job replayed
        help_text="The bulk replay that last queued it again (its page follows the outcome).",
    )
    recovered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when it arrived because the hub asked the provider to redeliver it.",
    )
    payload_removed_at = models.DateTimeField(
        null=True, blank=True, help_text="When body and headers were purged or erased."
    )
    payload_removed_reason = models.CharField(
        max_length=200, blank=True, help_text="Why: retention, or erased on request (by whom)."
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        permissions = [
            ("replay_delivery", "Can replay deliveries"),
            ("erase_delivery", "Can erase delivery payloads"),
        ]
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
            # Only retrying rows: an INSERT of a new (queued) delivery never touches it.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="retrying"),
                name="webhooks_dl_retry_due",
            ),
            # Unfinished rows in id order: "is an earlier delivery still waiting?" (routing's
            # ordered forwards ask it on every claim) reads the first entries, not the backlog.
            models.Index(
                fields=["id"],
                condition=Q(status__in=("queued", "processing")),
                name="webhooks_dl_unfinished",
            ),
            # Only replayed rows: an INSERT of a new delivery (NULL) never touches it.
            models.Index(
                fields=["replay_job"],
                condition=Q(replay_job__isnull=False),
                name="webhooks_dl_replay_job",
            ),
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
