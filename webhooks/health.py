"""Counting delivery outcomes into per-minute rollups, cheaply.

``count(source_id, when, **fields)`` adds to this process's buffer (e.g. ``received=1``, or
``processed=1, latency_ms=12``) and flushes it when it holds HUB_ROLLUP_BATCH entries or its
oldest is HUB_ROLLUP_SECONDS old; ``flush()`` adds each (source, minute) into DeliveryRollup
with one UPDATE (F() increments) and records each source's last success and last error. Workers
flush after every task, web processes on their next count and at exit. A process killed with -9
loses at most one buffer of counts, never a delivery.
"""

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction

from connections import rollups

from .models import DeliveryRollup, Source

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_buffer: dict[tuple[str, datetime], dict] = {}
_oldest = 0.0
_pending = 0


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
        if fields.get("processed") or fields.get("ignored"):
            entry["_last_success"] = when
        if fields.get("failed") or fields.get("dead") or fields.get("rejected"):
            entry["_last_error"] = when
        _pending += 1
        due = (
            _pending >= settings.HUB_ROLLUP_BATCH
            or time.monotonic() - _oldest >= settings.HUB_ROLLUP_SECONDS
        )
    if due:
        try:
            flush()
        except DatabaseError:  # counts are best effort; the caller's work is already done
            logger.warning("webhooks.health.flush_failed", exc_info=True)


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


rollups.flush_at_exit(flush, "webhooks.health")
