"""Recording every outbound call cheaply: a per-process write buffer, flushed in bulk.

Contract: ``record(call)`` appends to this process's buffer and flushes when it holds
HUB_CALL_RECORD_BATCH calls or its oldest is HUB_CALL_RECORD_SECONDS old; ``flush()`` writes
the CallRecords with one bulk INSERT, adds them into the per-minute CallRollups, and updates
each connection's last success/error and rate-limit snapshot. Buffers are flushed after every
Celery task, in the background (core.buffers) and at process exit; a health check
flushes at once, so its result shows on the pages right away. This is a buffer of writes, not
shared state: a process killed with -9 loses at most one batch of call records (never a call's
effect). Set the batch to 1 to write every call as it ends.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from core import buffers, rollups

from .models import CallErrorGroup, CallRecord, CallRollup, Connection


@dataclass
class Call:
    connection_id: int
    started_at: datetime
    method: str
    path: str
    status_code: int | None
    duration_ms: int
    attempts: int
    error_class: str = ""
    error_message: str = ""
    rate_remaining: int | None = None
    rate_reset: float | None = None
    is_test: bool = False


FAILURE_FIELDS = {
    "AuthFailed": "failed_auth",
    "NotFound": "failed_not_found",
    "ClientError": "failed_client",
    "RateLimited": "failed_rate_limited",
    "ProviderUnavailable": "failed_unavailable",
}
"""Error class of a failed call -> its CallRollup field; any other class is ``failed_other``."""


def failure_field(error_class: str) -> str:
    return FAILURE_FIELDS.get(error_class, "failed_other")


logger = logging.getLogger(__name__)


def record(call: Call) -> None:
    BUFFER.add(lambda calls: calls.append(call))


def flush() -> int:
    """Write the buffered calls now; returns how many were written."""
    return BUFFER.flush() or 0


def _write_all(calls: list[Call]) -> int:
    """Write the calls; calls of a connection deleted meanwhile are dropped (logged as
    ``connections.recorder.connection_gone``), never the rest of the batch."""
    try:
        with transaction.atomic():
            _write(calls)
    except IntegrityError:  # a connection was deleted after its call: keep the others
        alive = set(
            Connection.objects.filter(pk__in={c.connection_id for c in calls}).values_list(
                "pk", flat=True
            )
        )
        gone = sorted({c.connection_id for c in calls} - alive)
        logger.warning("connections.recorder.connection_gone", extra={"connection_ids": gone})
        calls = [c for c in calls if c.connection_id in alive]
        if calls:
            with transaction.atomic():
                _write(calls)
    return len(calls)


def _write(calls: list[Call]) -> None:
    records = CallRecord.objects.bulk_create(
        [
            CallRecord(
                connection_id=c.connection_id,
                started_at=c.started_at,
                method=c.method,
                path=c.path[:500],
                status_code=c.status_code,
                duration_ms=c.duration_ms,
                attempts=c.attempts,
                error_class=c.error_class,
                is_test=c.is_test,
            )
            for c in calls
        ]
    )
    _rollup(calls)
    _snapshots(calls)
    _errors(calls, records)


def _rollup(calls: list[Call]) -> None:
    groups: dict[tuple[int, datetime], list[Call]] = defaultdict(list)
    for c in calls:
        groups[(c.connection_id, c.started_at.replace(second=0, microsecond=0))].append(c)
    for (connection_id, minute), group in groups.items():
        counts = {
            "calls": len(group),
            "failures": sum(1 for c in group if c.error_class),
            "tests": sum(1 for c in group if c.is_test),
            "total_ms": sum(c.duration_ms for c in group),
        }
        for c in group:
            for name in (
                rollups.bucket_field(c.duration_ms),
                c.error_class and failure_field(c.error_class),
            ):
                if name:
                    counts[name] = counts.get(name, 0) + 1
        key = {"connection_id": connection_id, "minute": minute}
        rollups.add(CallRollup, key, counts, slowest=max(c.duration_ms for c in group))


def _errors(calls: list[Call], records: list[CallRecord]) -> None:
    for call, record in zip(calls, records, strict=True):
        if call.error_class:
            rollups.record_error(
                CallErrorGroup,
                {"connection_id": call.connection_id},
                call.error_class,
                call.error_message,
                call.started_at,
                example_call_id=record.pk,
            )


def _snapshots(calls: list[Call]) -> None:
    latest: dict[int, dict] = {}
    for c in calls:
        fields = latest.setdefault(c.connection_id, {})
        if c.error_class:
            fields["last_error_at"] = c.started_at
            fields["last_error"] = f"{c.error_class}: {c.error_message}"[:2000]
        else:
            fields["last_success_at"] = c.started_at
        if c.rate_remaining is not None:
            fields["rate_limit_remaining"] = c.rate_remaining
            fields["rate_limit_reset_at"] = (
                datetime.fromtimestamp(c.rate_reset, tz=UTC) if c.rate_reset else None
            )
    for connection_id, fields in latest.items():
        Connection.objects.filter(pk=connection_id).update(**fields)


BUFFER = buffers.WriteBuffer(
    "connections.recorder",
    empty=list,
    write=_write_all,
    batch=lambda: settings.HUB_CALL_RECORD_BATCH,
    seconds=lambda: settings.HUB_CALL_RECORD_SECONDS,
)
