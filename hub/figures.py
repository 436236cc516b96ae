"""The health figures, defined once: every page, ``/api/v1/health/`` and ``/metrics`` read them
from here, and tests/test_figures_reconcile.py recomputes each from the rows it summarizes.

A window is "since the start of the minute ``span`` ago" (``window_start``), because the
figures are kept per minute (``DeliveryRollup``, ``CallRollup``); an event belongs to the
minute it happened in.

Webhook source, over a window:

- ``received``: deliveries accepted (stored, answered 2xx), by the time they arrived. Each
  delivery counts once, however often it is attempted or replayed.
- ``refused``: requests refused at the door, any reason, by the time they arrived; by reason:
  ``signature`` (401: missing, wrong or expired signature), ``size`` (413), ``rate`` (429),
  ``invalid`` (400: unreadable body or request; 404: source disabled meanwhile). Refused
  requests are stored as ``rejected`` rows up to HUB_REJECTED_STORE_PER_MINUTE per source.
- ``processed`` / ``ignored`` / ``dead``: deliveries whose outcome is that, by the time they
  reached it. A replay takes a delivery out of its old outcome; it counts again when it ends.
- ``failed_attempts``: processing attempts that did not succeed (outcome failed, dead or lost),
  by the time they ended; ``attempts``: every attempt that ended.
- ``replays``: attempts started by a replay (``Attempt.replayed_by``), by the time they ended.
- ``success_rate`` = (processed + ignored) / (processed + ignored + dead); None when nothing
  finished in the window.
- ``p50_ms`` / ``p95_ms``: handler time of the attempts, from the latency buckets (the upper
  bound of the bucket holding the quantile).

Connection, over a window:

- ``calls``: calls made through the connection's client (health checks included), by the time
  they started; ``failures``: of which failed, by error class (``auth``, ``not_found``,
  ``client``, ``rate_limited``, ``unavailable``, ``other``); ``tests``: of which health checks.
- ``success_rate`` = (calls - failures) / calls; None without calls. Latency as above.

Not windowed: ``queue_depth`` and ``oldest_pending_at`` (deliveries ``queued``, ``retrying`` or
``processing`` now), read from the delivery log itself.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncHour, TruncMinute

from connections.models import CallRollup
from connections.recorder import FAILURE_FIELDS
from core.rollups import BUCKET_FIELDS, percentile
from webhooks.models import DeliveryRollup

REFUSAL_FIELDS = {
    "signature": "refused_signature",
    "size": "refused_size",
    "rate": "refused_rate",
    "invalid": "refused_invalid",
}
SOURCE_FIELDS = (
    "received", "refused", *REFUSAL_FIELDS.values(), "processed", "ignored", "dead", "attempts",
    "failed_attempts", "replays",
)  # fmt: skip
CALL_CLASSES = {field.removeprefix("failed_"): field for field in FAILURE_FIELDS.values()}
CALL_CLASSES["other"] = "failed_other"
CONNECTION_FIELDS = ("calls", "failures", "tests", *CALL_CLASSES.values())


def window_start(now: datetime, span: timedelta) -> datetime:
    """The first minute of the window of ``span`` ending now."""
    return now.replace(second=0, microsecond=0) - span


@dataclass
class SourceFigures:
    received: int = 0
    refused: int = 0
    refused_by_reason: dict = field(default_factory=dict)
    processed: int = 0
    ignored: int = 0
    dead: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    replays: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None

    @property
    def finished(self) -> int:
        return self.processed + self.ignored + self.dead

    @property
    def success_rate(self) -> float | None:
        return (self.processed + self.ignored) / self.finished if self.finished else None

    @property
    def volume(self) -> int:
        """Traffic of the window: deliveries received (the overview's main figure)."""
        return self.received

    @property
    def errors(self) -> int:
        """Deliveries that ended dead in the window (the overview's error figure)."""
        return self.dead

    @property
    def any(self) -> bool:
        return bool(self.received or self.refused or self.attempts or self.finished)

    @classmethod
    def from_sums(cls, row: dict, prefix: str = "") -> "SourceFigures":
        get = _getter(row, prefix)
        return cls(
            received=get("received"),
            refused=get("refused"),
            refused_by_reason={k: get(f) for k, f in REFUSAL_FIELDS.items()},
            processed=get("processed"),
            ignored=get("ignored"),
            dead=get("dead"),
            attempts=get("attempts"),
            failed_attempts=get("failed_attempts"),
            replays=get("replays"),
            p50_ms=percentile(_buckets(row, prefix), 0.5),
            p95_ms=percentile(_buckets(row, prefix), 0.95),
        )


@dataclass
class ConnectionFigures:
    calls: int = 0
    failures: int = 0
    tests: int = 0
    failures_by_class: dict = field(default_factory=dict)
    p50_ms: int | None = None
    p95_ms: int | None = None

    @property
    def success_rate(self) -> float | None:
        return (self.calls - self.failures) / self.calls if self.calls else None

    @property
    def volume(self) -> int:
        return self.calls

    @property
    def errors(self) -> int:
        return self.failures

    @property
    def any(self) -> bool:
        return bool(self.calls)

    @classmethod
    def from_sums(cls, row: dict, prefix: str = "") -> "ConnectionFigures":
        get = _getter(row, prefix)
        return cls(
            calls=get("calls"),
            failures=get("failures"),
            tests=get("tests"),
            failures_by_class={k: get(f) for k, f in CALL_CLASSES.items()},
            p50_ms=percentile(_buckets(row, prefix), 0.5),
            p95_ms=percentile(_buckets(row, prefix), 0.95),
        )


KINDS = {
    "source": (DeliveryRollup, "source_id", SOURCE_FIELDS, SourceFigures),
    "connection": (CallRollup, "connection_id", CONNECTION_FIELDS, ConnectionFigures),
}


def figures(kind: str, windows: dict[str, datetime], ids=None) -> dict:
    """``{id: {window name: figures}}`` for every integration of ``kind`` with rollups since
    the earliest window start (or just ``ids``), in one aggregate query."""
    model, key, fields, cls = KINDS[kind]
    earliest = min(windows.values())
    rows = model.objects.filter(minute__gte=earliest)
    if ids is not None:
        rows = rows.filter(**{f"{key}__in": list(ids)})
    sums = {}
    for name, since in windows.items():
        only = Q(minute__gte=since)
        for f in (*fields, *BUCKET_FIELDS):
            sums[f"{name}__{f}"] = Coalesce(Sum(f, filter=only), 0)
    result = {}
    for row in rows.values(key).annotate(**sums):
        result[row[key]] = {name: cls.from_sums(row, f"{name}__") for name in windows}
    return result


def empty(kind: str):
    return KINDS[kind][3]()


def series(kind: str, pk, since: datetime, until: datetime, hourly: bool) -> list[tuple]:
    """``[(bucket start, figures)]`` of one integration per minute (or per hour) from ``since``
    to ``until``, every bucket included (empty ones too), oldest first; they add up to the
    range's figures (the first hourly bucket holds only the minutes from ``since``)."""
    model, key, fields, cls = KINDS[kind]
    trunc = TruncHour if hourly else TruncMinute
    rows = (
        model.objects.filter(**{key: pk}, minute__gte=since)
        .annotate(at=trunc("minute"))
        .values("at")
        .annotate(**{f: Sum(f) for f in (*fields, *BUCKET_FIELDS)})
    )
    by_time = {row["at"]: cls.from_sums(row) for row in rows}
    step = timedelta(hours=1) if hourly else timedelta(minutes=1)
    at = since.replace(minute=0) if hourly else since
    points = []
    while at <= until:
        points.append((at, by_time.get(at, cls())))
        at += step
    return points


def _getter(row: dict, prefix: str):
    return lambda name: row.get(f"{prefix}{name}") or 0


def _buckets(row: dict, prefix: str) -> dict:
    return {name: row.get(f"{prefix}{name}") or 0 for name in BUCKET_FIELDS}
