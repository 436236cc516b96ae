"""Counting the figures of webhook sources (hub/figures.py) into per-minute rollups, cheaply.

``count(source_id, when, **fields)`` adds to this process's buffer (e.g. ``received=1``, or
``processed=1, attempts=1, latency_ms=12``; counts may be negative: a replay takes a delivery
out of its old outcome with ``dead=-1`` at the minute it had died) and flushes it when it holds
HUB_ROLLUP_BATCH entries or its oldest is HUB_ROLLUP_SECONDS old; ``flush()`` adds each
(source, minute) into DeliveryRollup with one UPDATE (F() increments) and records each source's
last success and last error. It is a ``core.buffers.WriteBuffer``: flushed after every task, in
the background and at exit; a process killed with -9 loses at most one buffer of counts.

``refusal(status)`` names the refusal reason of an HTTP status, as the figures count it.
"""

import logging
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import transaction

from core import buffers, rollups

from .models import DeliveryRollup, Source

logger = logging.getLogger(__name__)
REFUSAL_REASONS = {401: "refused_signature", 413: "refused_size", 429: "refused_rate"}
"""HTTP status of a refusal -> its reason's rollup field; any other status is ``invalid``."""
SUCCESS_FIELDS = ("processed", "ignored")
ERROR_FIELDS = ("failed_attempts", "dead", "refused")


def refusal(status: int) -> dict[str, int]:
    """The counts of one refused request answered ``status``."""
    return {"refused": 1, REFUSAL_REASONS.get(status, "refused_invalid"): 1}


def count(source_id, when: datetime, latency_ms: int | None = None, **fields) -> None:
    key = (str(source_id), when.replace(second=0, microsecond=0))

    def update(entries: dict) -> None:
        entry = entries.setdefault(key, defaultdict(int))
        for name, n in fields.items():
            entry[name] += n
        if latency_ms is not None:
            entry["total_ms"] += latency_ms
            entry[rollups.bucket_field(latency_ms)] += 1
            entry["_max"] = max(entry["_max"], latency_ms)
        for name in SUCCESS_FIELDS:
            if fields.get(name, 0) > 0:
                entry["_last_success"] = when
        for name in ERROR_FIELDS:
            if fields.get(name, 0) > 0:
                entry["_last_error"] = when

    BUFFER.add(update)


def flush() -> None:
    BUFFER.flush()


def _write(entries: dict) -> None:
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


BUFFER = buffers.WriteBuffer(
    "webhooks.counts",
    empty=dict,
    write=_write,
    batch=lambda: settings.HUB_ROLLUP_BATCH,
    seconds=lambda: settings.HUB_ROLLUP_SECONDS,
)
