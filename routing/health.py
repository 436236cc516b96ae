"""Each destination's health, counted from its forwards (every figure is a COUNT over rows
that tests/test_routing.py recomputes).

Figures: ``made_day`` forwards made in the last 24 h, of which ``delivered_day`` delivered and
``dead_day`` dead; ``delivered_hour`` forwards delivered in the last hour (by delivery time);
``waiting`` pending or retrying now, ``held`` held now (any age). Status, first match wins:
``down`` (disabled, or failing for more than 15 minutes without a success), ``degraded``
(failing since its last success, or a dead forward in the last 24 h), ``needs_attention``
(forwards held), ``healthy`` (something made in the last 24 h), else ``no_data``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .models import Destination, Forward

S = Forward.Status
DOWN_AFTER = timedelta(minutes=15)


@dataclass
class DestinationHealth:
    destination: Destination
    made_day: int = 0
    delivered_day: int = 0
    dead_day: int = 0
    delivered_hour: int = 0
    waiting: int = 0
    held: int = 0
    status: str = "no_data"
    reason: str = ""

    @property
    def label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def success_day(self) -> float | None:
        """delivered / (delivered + dead) of the forwards made in the last 24 h."""
        ended = self.delivered_day + self.dead_day
        return self.delivered_day / ended if ended else None


def overview(now: datetime | None = None) -> list[DestinationHealth]:
    """Every destination's figures and status: two grouped queries, whatever their number."""
    now = now or timezone.now()
    day, hour = now - timedelta(hours=24), now - timedelta(hours=1)
    items = {d.pk: DestinationHealth(d) for d in Destination.objects.order_by("name")}
    recent = (
        Forward.objects.filter(Q(created_at__gte=day) | Q(delivered_at__gte=hour))
        .values("destination_id")
        .annotate(
            made_day=Count("id", filter=Q(created_at__gte=day)),
            delivered_day=Count("id", filter=Q(created_at__gte=day, status=S.DELIVERED)),
            dead_day=Count("id", filter=Q(created_at__gte=day, status=S.DEAD)),
            delivered_hour=Count("id", filter=Q(delivered_at__gte=hour)),
        )
    )
    for row in recent:
        item = items.get(row.pop("destination_id"))
        if item:
            for name, value in row.items():
                setattr(item, name, value)
    waiting = (
        Forward.objects.filter(status__in=(S.PENDING, S.RETRYING, S.HELD))
        .values("destination_id")
        .annotate(
            waiting=Count("id", filter=~Q(status=S.HELD)), held=Count("id", filter=Q(status=S.HELD))
        )
    )
    for row in waiting:
        item = items.get(row["destination_id"])
        if item:
            item.waiting, item.held = row["waiting"], row["held"]
    for item in items.values():
        item.status, item.reason = status_of(item, now)
    return list(items.values())


def status_of(item: DestinationHealth, now: datetime) -> tuple[str, str]:
    d = item.destination
    if not d.enabled:
        return "down", d.disabled_reason or "disabled"
    if d.failing_since and now - d.failing_since > DOWN_AFTER:
        return "down", f"failing since {d.failing_since:%Y-%m-%d %H:%M} UTC without a success"
    if d.failing_since:
        return "degraded", f"failing since {d.failing_since:%H:%M} UTC"
    if item.dead_day:
        return "degraded", f"{item.dead_day} dead forwards in 24 h"
    if item.held:
        return "needs_attention", f"{item.held} forwards held (a route paused?)"
    if item.made_day:
        return "healthy", ""
    return "no_data", ""
