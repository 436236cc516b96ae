"""Per-minute rollups and grouped errors: the compact health data that pages read instead of
scanning the logs.

``LatencyBuckets`` is the histogram every rollup model shares; ``add(model, key, counts,
slowest)`` adds counts into the row for ``key`` (e.g. ``{"connection_id": 3, "minute": m}``)
with ``F()`` increments, creating it on first use (a concurrent creator wins, and the add is
retried as an update). ``percentile(row, q)`` reads a latency percentile back from buckets.
"""

import hashlib
import re

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.db.models.functions import Greatest

LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000)
BUCKET_FIELDS = [f"le_{ms}ms" for ms in LATENCY_BUCKETS_MS] + ["gt_last"]


class LatencyBuckets(models.Model):
    total_ms = models.PositiveBigIntegerField(default=0, help_text="Sum of durations.")
    max_ms = models.PositiveIntegerField(default=0, help_text="Slowest.")
    le_25ms = models.PositiveIntegerField(default=0, help_text="At most 25 ms.")
    le_50ms = models.PositiveIntegerField(default=0, help_text="At most 50 ms.")
    le_100ms = models.PositiveIntegerField(default=0, help_text="At most 100 ms.")
    le_250ms = models.PositiveIntegerField(default=0, help_text="At most 250 ms.")
    le_500ms = models.PositiveIntegerField(default=0, help_text="At most 500 ms.")
    le_1000ms = models.PositiveIntegerField(default=0, help_text="At most 1 s.")
    le_2500ms = models.PositiveIntegerField(default=0, help_text="At most 2.5 s.")
    le_5000ms = models.PositiveIntegerField(default=0, help_text="At most 5 s.")
    gt_last = models.PositiveIntegerField(default=0, help_text="Slower than 5 s.")

    class Meta:
        abstract = True


def bucket_field(duration_ms: int) -> str:
    for ms, name in zip(LATENCY_BUCKETS_MS, BUCKET_FIELDS, strict=False):
        if duration_ms <= ms:
            return name
    return "gt_last"


def add(model, key: dict, counts: dict, slowest: int = 0) -> None:
    updates = {name: F(name) + value for name, value in counts.items() if value}
    row = model.objects.filter(**key)
    if row.update(**updates, max_ms=Greatest("max_ms", slowest)):
        return
    try:
        with transaction.atomic():
            model.objects.create(**key, max_ms=slowest, **counts)
    except IntegrityError:  # another process created it first
        row.update(**updates, max_ms=Greatest("max_ms", slowest))


def percentile(buckets: dict, q: float) -> int | None:
    """The upper bound (ms) of the bucket holding the q-quantile, from summed bucket counts."""
    total = sum(buckets.get(name) or 0 for name in BUCKET_FIELDS)
    if not total:
        return None
    rank, seen = q * total, 0
    for ms, name in zip((*LATENCY_BUCKETS_MS, None), BUCKET_FIELDS, strict=True):
        seen += buckets.get(name) or 0
        if seen >= rank:
            return ms if ms is not None else LATENCY_BUCKETS_MS[-1] * 2
    return None


class ErrorGroupBase(models.Model):
    """Errors grouped by class and message, per integration: the error history pages list."""

    fingerprint = models.CharField(max_length=40, help_text="Hash of class and message.")
    error_class = models.CharField(max_length=200, help_text="Exception or error class.")
    message = models.TextField(help_text="The latest message (secrets removed).")
    count = models.PositiveIntegerField(default=0, help_text="How often it happened.")
    first_seen = models.DateTimeField(help_text="First time.")
    last_seen = models.DateTimeField(help_text="Latest time.")

    class Meta:
        abstract = True


def fingerprint(error_class: str, message: str) -> str:
    """The error group of (error_class, message): messages that differ only in numbers are one
    group (digits collapse to N; the first 1,000 characters count)."""
    shape = re.sub(r"\d+", "N", message[:1000])
    return hashlib.sha1(f"{error_class}\n{shape}".encode(), usedforsecurity=False).hexdigest()


def record_error(model, key: dict, error_class: str, message: str, when, **example) -> None:
    """Count one occurrence of (error_class, message) for the integration in ``key``. Messages
    that differ only in numbers (ids, attempt counts, durations) are one group; the group keeps
    the latest message, and ``example`` (e.g. ``example_delivery_id=...``) points at it."""
    message = message[:1000]
    key = {**key, "fingerprint": fingerprint(error_class, message)}
    updated = model.objects.filter(**key).update(
        count=F("count") + 1, last_seen=when, message=message, **example
    )
    if updated:
        return
    try:
        with transaction.atomic():
            model.objects.create(
                **key, error_class=error_class, message=message, count=1, first_seen=when,
                last_seen=when, **example,
            )  # fmt: skip
    except IntegrityError:
        model.objects.filter(**key).update(
            count=F("count") + 1, last_seen=when, message=message, **example
        )
