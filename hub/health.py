"""Per-integration health for the dashboard, the health API and alerts.

``overview(now, only=None)`` returns one ``Integration`` per webhook source and per connection
(or just ``only=(kind, pk)``) with its figures (hub/figures.py) over the last hour, the last
24 h and the status window, from the rollups and a few snapshot fields, with a fixed number of
queries (it costs the same with 10 deliveries or 10 million). ``status_of`` applies the rules
in HUB_HEALTH_RULES, in order, and says which rule decided:

1. needs attention: the connection is flagged (refused credentials, revoked access, a linked
   account that must be re-authorized), or every one of at least ``min_events`` requests a
   source got in the window was refused (a sender with the wrong secret, say);
2. down: the circuit is open; the last health check failed and no call succeeded since; or
   every one of at least ``min_events`` attempts (calls) in the last ``window_minutes`` failed;
3. degraded: the success rate of attempts (calls) over the window is under ``degraded_below``;
   nothing succeeded in 24 h though something finished (0% is never healthy); or the oldest
   pending delivery has waited more than ``stuck_after_minutes``;
4. no data: nothing happened in the last 24 h (no delivery, refusal, attempt or call);
5. healthy.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, OuterRef, Subquery, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from connections.models import CallErrorGroup, CallRollup, Connection
from webhooks.models import Delivery, DeliveryErrorGroup, DeliveryRollup, Source

from . import figures
from .figures import ConnectionFigures, SourceFigures

SEVERITY = {"down": 0, "needs_attention": 1, "degraded": 2, "healthy": 3, "no_data": 4}
STATUS_LABELS = {"needs_attention": "needs attention", "no_data": "no data"}


@dataclass
class Integration:
    kind: str  # "source" | "connection"
    id: object
    name: str
    provider: str
    hour: SourceFigures | ConnectionFigures
    day: SourceFigures | ConnectionFigures
    window: SourceFigures | ConnectionFigures
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    circuit: str = ""
    rate_remaining: int | None = None
    queue_depth: int = 0
    oldest_pending_at: datetime | None = None
    flagged: str = ""
    check_ok: bool | None = None
    check_at: datetime | None = None
    check_message: str = ""
    sparkline: list = field(default_factory=list)  # 24 x (volume, errors), oldest first
    status: str = "no_data"
    rule: str = ""

    # The overview's columns: volume and errors per kind (see hub/figures.py).
    @property
    def total_hour(self) -> int:
        return self.hour.volume

    @property
    def errors_hour(self) -> int:
        return self.hour.errors

    @property
    def total_day(self) -> int:
        return self.day.volume

    @property
    def errors_day(self) -> int:
        return self.day.errors

    @property
    def success_rate(self) -> float | None:
        return self.day.success_rate

    @property
    def p50_ms(self) -> int | None:
        return self.day.p50_ms

    @property
    def p95_ms(self) -> int | None:
        return self.day.p95_ms

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def severity(self) -> int:
        return SEVERITY[self.status]


def status_of(item: Integration, now: datetime) -> tuple[str, str]:
    rules = settings.HUB_HEALTH_RULES
    window, least = rules["window_minutes"], rules["min_events"]
    w = item.window
    if item.flagged:
        return "needs_attention", item.flagged
    if item.kind == "source" and w.refused >= least and not w.received:
        return "needs_attention", (
            f"all {w.refused} requests in the last {window} min were refused "
            f"({_reasons(w.refused_by_reason)}): check the sender's secret and settings"
        )
    if item.circuit == "open":
        return "down", "circuit open: calls fail fast after repeated failures"
    if item.check_ok is False and (
        item.last_success_at is None or (item.check_at and item.last_success_at < item.check_at)
    ):
        return "down", f"the last health check failed: {item.check_message}"[:300]
    what = "attempts" if item.kind == "source" else "calls"
    total, failed = (
        (w.attempts, w.failed_attempts) if item.kind == "source" else (w.calls, w.failures)
    )
    if total >= least and failed == total:
        return "down", f"all {total} {what} in the last {window} min failed"
    if total >= least and 1 - failed / total < rules["degraded_below"]:
        rate = 100 * (1 - failed / total)
        return "degraded", (
            f"{rate:.0f}% of {what} succeeded over {window} min "
            f"(below {100 * rules['degraded_below']:.0f}%)"
        )
    if item.day.success_rate == 0:
        return "degraded", f"nothing succeeded in 24 h ({item.day.errors} failed)"
    if item.oldest_pending_at:
        waited = (now - item.oldest_pending_at).total_seconds() / 60
        if waited > rules["stuck_after_minutes"]:
            return "degraded", f"the oldest pending delivery has waited {waited:.0f} min"
    if not item.day.any:
        return "no_data", "nothing received, refused or called in 24 h"
    return "healthy", ""


def _reasons(by_reason: dict) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in by_reason.items() if n) or "any reason"


def overview(now: datetime | None = None, only: tuple[str, object] | None = None) -> list:
    """Every integration's health, or with ``only=(kind, pk)`` just that one (its page: the
    other kind is not queried at all)."""
    now = now or timezone.now()
    ids: dict[str, list | None] = {"source": None, "connection": None}
    if only is not None:
        kind, pk = only
        ids = {"source": [], "connection": []}
        ids[kind] = [pk]
    windows = {
        "day": figures.window_start(now, timedelta(hours=24)),
        "hour": figures.window_start(now, timedelta(hours=1)),
        "window": figures.window_start(
            now, timedelta(minutes=settings.HUB_HEALTH_RULES["window_minutes"])
        ),
    }
    items: dict[tuple, Integration] = {}
    if ids["source"] != []:
        items.update(_sources(windows, ids["source"]))
        _pending(items, ids["source"])
    if ids["connection"] != []:
        items.update(_connections(windows, ids["connection"]))
    _sparklines(items, now, ids)
    for item in items.values():
        item.status, item.rule = status_of(item, now)
    return list(items.values())


def _newest_error(model, owner: str):
    """Annotations: the error class and message of the owner's most recent error group."""
    newest = model.objects.filter(**{owner: OuterRef("pk")}).order_by("-last_seen")
    return {
        "error_class": Subquery(newest.values("error_class")[:1]),
        "error_message": Subquery(newest.values("message")[:1]),
    }


def _sources(windows: dict, ids: list | None) -> dict:
    """One Integration per webhook source (all, or those in ``ids``), with its figures."""
    rows = Source.objects.all() if ids is None else Source.objects.filter(pk__in=ids)
    sums = figures.figures("source", windows, ids)
    items = {}
    for s in rows.annotate(**_newest_error(DeliveryErrorGroup, "source")).order_by("name"):
        f = sums.get(s.pk) or {name: SourceFigures() for name in windows}
        items[("source", s.pk)] = Integration(
            "source", s.pk, s.name, s.provider, **f, last_success_at=s.last_success_at,
            last_error_at=s.last_error_at, last_error=_error(s.error_class, s.error_message),
        )  # fmt: skip
    return items


def _connections(windows: dict, ids: list | None) -> dict:
    """One Integration per connection (all, or those in ``ids``), with its figures."""
    rows = Connection.objects.all() if ids is None else Connection.objects.filter(pk__in=ids)
    sums = figures.figures("connection", windows, ids)
    items = {}
    for c in rows.annotate(**_newest_error(CallErrorGroup, "connection")).order_by("name"):
        flagged = ""
        if c.status == c.Status.NEEDS_ATTENTION:
            flagged = c.status_reason or "needs attention"
        f = sums.get(c.pk) or {name: ConnectionFigures() for name in windows}
        items[("connection", c.pk)] = Integration(
            "connection", c.pk, c.name, c.provider, **f, last_success_at=c.last_success_at,
            last_error_at=c.last_error_at,
            last_error=_error(c.error_class, c.error_message) or c.last_error,
            circuit=c.circuit_state, rate_remaining=c.rate_limit_remaining, flagged=flagged,
            check_ok=c.last_health_check_ok, check_at=c.last_health_check_at,
            check_message=c.last_health_check_message,
        )  # fmt: skip
    return items


def _pending(items: dict, ids: list | None) -> None:
    """Each source's queue depth and oldest unfinished delivery."""
    pending = Delivery.objects.filter(status__in=Delivery.Status.IN_FLIGHT)
    if ids is not None:
        pending = pending.filter(source_id__in=ids)
    for row in pending.values("source_id").annotate(n=Count("id"), oldest=Min("received_at")):
        item = items.get(("source", row["source_id"]))
        if item:
            item.queue_depth, item.oldest_pending_at = row["n"], row["oldest"]


def _error(error_class: str | None, message: str | None) -> str:
    if not error_class:
        return ""
    return f"{error_class}: {message}" if message else error_class


SPARK = {
    "source": (DeliveryRollup, "source_id", Sum("received"), Sum("dead")),
    "connection": (CallRollup, "connection_id", Sum("calls"), Sum("failures")),
}


def _sparklines(items: dict, now: datetime, ids: dict) -> None:
    """24 hourly (volume, errors) pairs per integration, the current hour last."""
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=i) for i in range(24)]
    series = {key: {h: (0, 0) for h in hours} for key in items}
    for kind, (model, key, volume, errors) in SPARK.items():
        if ids[kind] == []:
            continue
        rows = model.objects.filter(minute__gte=start)
        if ids[kind] is not None:
            rows = rows.filter(**{f"{key}__in": ids[kind]})
        rows = (
            rows.annotate(hour=TruncHour("minute"))
            .values(key, "hour")
            .annotate(volume=volume, errors=errors)
        )
        for row in rows:
            cells = series.get((kind, row[key]))
            if cells is not None and row["hour"] in cells:
                cells[row["hour"]] = (row["volume"] or 0, row["errors"] or 0)
    for key, item in items.items():
        item.sparkline = [series[key][h] for h in hours]
