"""Per-integration health for the dashboard, the health API and alerts.

``overview(now)`` returns one ``Integration`` per webhook source and per connection, computed
from the per-minute rollups, grouped errors and a few snapshot fields with a fixed number of
queries (it costs the same with 10 deliveries or 10 million). ``status_of`` applies the rules
in HUB_HEALTH_RULES, in order, and says which rule decided:

- needs attention: the connection is flagged (refused credentials, revoked access, a linked
  account that must be re-authorized);
- down: the circuit is open, or every one of at least ``min_events`` outcomes in the last
  ``window_minutes`` failed;
- degraded: the success rate over the window is under ``degraded_below``, or the oldest pending
  delivery has waited more than ``stuck_after_minutes``;
- healthy otherwise (quiet integrations included).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, IntegerField, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from connections.models import CallErrorGroup, CallRollup, Connection
from connections.rollups import BUCKET_FIELDS, percentile
from webhooks.models import Delivery, DeliveryErrorGroup, DeliveryRollup, Source

SEVERITY = {"down": 0, "needs_attention": 1, "degraded": 2, "healthy": 3}
PENDING = (Delivery.Status.QUEUED, Delivery.Status.RETRYING, Delivery.Status.PROCESSING)


@dataclass
class Integration:
    kind: str  # "source" | "connection"
    id: object
    name: str
    provider: str
    total_hour: int = 0
    errors_hour: int = 0
    total_day: int = 0
    errors_day: int = 0
    window_total: int = 0
    window_errors: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    circuit: str = ""
    rate_remaining: int | None = None
    queue_depth: int = 0
    oldest_pending_at: datetime | None = None
    flagged: str = ""
    sparkline: list = field(default_factory=list)  # 24 x (volume, errors), oldest first
    status: str = "healthy"
    rule: str = ""

    @property
    def success_rate(self) -> float | None:
        return 1 - self.errors_day / self.total_day if self.total_day else None

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def severity(self) -> int:
        return SEVERITY[self.status]


def status_of(item: Integration, now: datetime) -> tuple[str, str]:
    rules = settings.HUB_HEALTH_RULES
    window = rules["window_minutes"]
    if item.flagged:
        return "needs_attention", item.flagged
    if item.circuit == "open":
        return "down", "circuit open: calls fail fast after repeated failures"
    total, errors = item.window_total, item.window_errors
    if total >= rules["min_events"] and errors == total:
        return "down", f"all {total} outcomes in the last {window} min failed"
    if total >= rules["min_events"] and 1 - errors / total < rules["degraded_below"]:
        rate = 100 * (1 - errors / total)
        return "degraded", (
            f"success {rate:.0f}% < {100 * rules['degraded_below']:.0f}% over {window} min"
        )
    if item.oldest_pending_at:
        waited = (now - item.oldest_pending_at).total_seconds() / 60
        if waited > rules["stuck_after_minutes"]:
            return "degraded", f"oldest pending delivery waited {waited:.0f} min"
    return "healthy", ""


def _sums(fields, since_hour, since_window):
    """Conditional sums: 24 h totals, the last hour and the status window, and buckets."""
    agg = {}
    for name, expr in fields.items():
        agg[f"day_{name}"] = Coalesce(Sum(expr), 0)
        agg[f"hour_{name}"] = Coalesce(Sum(expr, filter=Q(minute__gte=since_hour)), 0)
        agg[f"win_{name}"] = Coalesce(Sum(expr, filter=Q(minute__gte=since_window)), 0)
    for name in BUCKET_FIELDS:
        agg[name] = Coalesce(Sum(name), 0)
    return agg


def _apply(item: Integration, row: dict) -> None:
    item.total_day, item.errors_day = row["day_total"], row["day_errors"]
    item.total_hour, item.errors_hour = row["hour_total"], row["hour_errors"]
    item.window_total, item.window_errors = row["win_total"], row["win_errors"]
    item.p50_ms, item.p95_ms = percentile(row, 0.5), percentile(row, 0.95)


def overview(now: datetime | None = None, only: tuple[str, object] | None = None) -> list:
    """Every integration's health, or with ``only=(kind, pk)`` just that one (its page)."""
    now = now or timezone.now()
    sources, connections = Source.objects.all(), Connection.objects.all()
    delivery_rollups, call_rollups = DeliveryRollup.objects.all(), CallRollup.objects.all()
    pending = Delivery.objects.filter(status__in=PENDING)
    if only is not None:
        kind, pk = only
        sources = sources.filter(pk=pk) if kind == "source" else sources.none()
        connections = connections.filter(pk=pk) if kind == "connection" else connections.none()
        delivery_rollups = delivery_rollups.filter(source_id=pk if kind == "source" else None)
        call_rollups = call_rollups.filter(connection_id=pk if kind == "connection" else None)
        pending = pending.filter(source_id=pk if kind == "source" else None)
    since_day, since_hour = now - timedelta(hours=24), now - timedelta(hours=1)
    since_window = now - timedelta(minutes=settings.HUB_HEALTH_RULES["window_minutes"])
    items: dict[tuple, Integration] = {}
    last_source_error = DeliveryErrorGroup.objects.filter(source=OuterRef("pk")).order_by(
        "-last_seen"
    )
    for s in sources.annotate(
        last_error=Subquery(last_source_error.values("message")[:1])
    ).order_by("name"):
        items[("source", s.pk)] = Integration(
            "source", s.pk, s.name, s.provider, last_success_at=s.last_success_at,
            last_error_at=s.last_error_at, last_error=s.last_error or "",
        )  # fmt: skip
    last_call_error = CallErrorGroup.objects.filter(connection=OuterRef("pk")).order_by(
        "-last_seen"
    )
    for c in connections.annotate(
        last_group=Subquery(last_call_error.values("message")[:1])
    ).order_by("name"):
        needs_attention = c.status == c.Status.NEEDS_ATTENTION
        flagged = (c.status_reason or "needs attention") if needs_attention else ""
        items[("connection", c.pk)] = Integration(
            "connection", c.pk, c.name, c.provider, last_success_at=c.last_success_at,
            last_error_at=c.last_error_at, last_error=c.last_group or c.last_error,
            circuit=c.circuit_state, rate_remaining=c.rate_limit_remaining, flagged=flagged,
        )  # fmt: skip
    delivery_fields = {
        "total": _int("processed") + _int("ignored") + _int("failed") + _int("dead")
        + _int("rejected"),
        "errors": _int("failed") + _int("dead") + _int("rejected"),
    }  # fmt: skip
    rows = (
        delivery_rollups.filter(minute__gte=since_day)
        .values("source_id")
        .annotate(**_sums(delivery_fields, since_hour, since_window))
    )
    for row in rows:
        if ("source", row["source_id"]) in items:
            _apply(items[("source", row["source_id"])], row)
    call_fields = {"total": _int("calls"), "errors": _int("failures")}
    rows = (
        call_rollups.filter(minute__gte=since_day)
        .values("connection_id")
        .annotate(**_sums(call_fields, since_hour, since_window))
    )
    for row in rows:
        if ("connection", row["connection_id"]) in items:
            _apply(items[("connection", row["connection_id"])], row)
    pending = pending.values("source_id").annotate(n=Count("id"), oldest=Min("received_at"))
    for row in pending:
        item = items.get(("source", row["source_id"]))
        if item:
            item.queue_depth, item.oldest_pending_at = row["n"], row["oldest"]
    _sparklines(items, now, delivery_rollups, call_rollups)
    for item in items.values():
        item.status, item.rule = status_of(item, now)
    return list(items.values())


def _int(name):
    return Coalesce(F(name), 0, output_field=IntegerField())


def _sparklines(items: dict, now: datetime, delivery_rollups, call_rollups) -> None:
    start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=i) for i in range(24)]
    series = {key: {h: (0, 0) for h in hours} for key in items}
    delivery_rows = (
        delivery_rollups.filter(minute__gte=start)
        .annotate(hour=TruncHour("minute"))
        .values("source_id", "hour")
        .annotate(
            volume=Sum("received") + Sum("rejected"),
            errors=Sum("failed") + Sum("dead") + Sum("rejected"),
        )
    )
    for row in delivery_rows:
        key = ("source", row["source_id"])
        if key in series and row["hour"] in series[key]:
            series[key][row["hour"]] = (row["volume"] or 0, row["errors"] or 0)
    call_rows = (
        call_rollups.filter(minute__gte=start)
        .annotate(hour=TruncHour("minute"))
        .values("connection_id", "hour")
        .annotate(volume=Sum("calls"), errors=Sum("failures"))
    )
    for row in call_rows:
        key = ("connection", row["connection_id"])
        if key in series and row["hour"] in series[key]:
            series[key][row["hour"]] = (row["volume"] or 0, row["errors"] or 0)
    for key, item in items.items():
        item.sparkline = [series[key][h] for h in hours]
