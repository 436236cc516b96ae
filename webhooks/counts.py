"""Counting the figures of webhook sources (hub/figures.py) into per-minute rollups, cheaply.

``count(source_id, when, **fields)`` adds to this process's buffer (e.g. ``received=1``, or
``processed=1, attempts=1, latency_ms=12``; counts may be negative: a replay takes a delivery
out of its old outcome with ``dead=-1`` at the minute it had died) and flushes it when it holds
HUB_ROLLUP_BATCH entries or its oldest is HUB_ROLLUP_SECONDS old; ``flush()`` adds each
(source, minute) into DeliveryRollup with one UPDATE (F() increments) and records each source's
last success and last error. Workers flush after every task, every process in the background
(core.buffers) and at exit. A process killed with -9 loses at most one buffer of
counts, never a delivery.

``refusal(status)`` names the refusal reason of an HTTP status, as the figures count it.
"""

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction

from core import buffers, rollups

from .models import DeliveryRollup, Source

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_buffer: dict[tuple[str, datetime], dict] = {}
_oldest = 0.0
_pending = 0
REFUSAL_REASONS = {401: "refused_signature", 413: "refused_size", 429: "refused_rate"}
"""HTTP status of a refusal -> its reason's rollup field; any other status is ``invalid``."""
SUCCESS_FIELDS = ("processed", "ignored")
ERROR_FIELDS = ("failed_attempts", "dead", "refused")


def refusal(status: int) -> dict[str, int]:
    """The counts of one refused request answered ``status``."""
    return {"refused": 1, REFUSAL_REASONS.get(status, "refused_invalid"): 1}


def count(source_id, when: datetime, latency_ms: int | None = None, **fields) -> None:
    global _oldest, _pending
    key = (str(source_id), when.replace(second=0, microsecond=0))
    with _lock:
        if not _buffer:
            _oldest = time.monotonic()
        entry = _buffer.setdefault(key, defaultdict(int))
        for name, n in fields.items():
            entry[name] += n
        if latency_ms is not None:
            entry["total_ms"] += latency_ms
            entry[rollups.bucket_field(latency_ms)] += 1
            entry["_max"] = max(entry["_max"], latency_ms)
        if any(fields.get(name, 0) > 0 for name in SUCCESS_FIELDS):
            entry["_last_success"] = when
        if any(fields.get(name, 0) > 0 for name in ERROR_FIELDS):
            entry["_last_error"] = when
        _pending += 1
        due = (
            _pending >= settings.HUB_ROLLUP_BATCH
            or time.monotonic() - _oldest >= settings.HUB_ROLLUP_SECONDS
        )
    buffers.start()
    if due:
        try:
            flush()
        except DatabaseError:  # counts are best effort; the caller's work is already done
            logger.warning("webhooks.counts.flush_failed", exc_info=True)


def flush() -> None:
    global _buffer, _pending
    with _lock:
        entries, _buffer, _pending = _buffer, {}, 0
    if not entries:
        return
    last: dict[str, dict] = {}
    with transaction.atomic():
        for (source_id, minute), entry in entries.items():
            slowest = entry.pop("_max", 0)
            success, error = entry.pop("_last_success", None), entry.pop("_last_error", None)
            key = {"source_id": source_id, "minute": minute}
            rollups.add(DeliveryRollup, key, dict(entry), slowest=slowest)
            marks = last.setdefault(source_id, {})
            for name, when in (("last_success_at", success), ("last_error_at", error)):
                if when and (name not in marks or when > marks[name]):
                    marks[name] = when
        for source_id, marks in last.items():
            if marks:
                Source.objects.filter(pk=source_id).update(**marks)


rollups.flush_at_exit(flush, "webhooks.counts")
buffers.register("webhooks.counts", flush)
