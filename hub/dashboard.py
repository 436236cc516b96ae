"""Operator pages: the health overview and an integration's detail (the support desk is in
hub/desk.py).

Staff with the ``webhooks.view_delivery`` permission (admins and support) see them; everyone
else is refused (end users have their linked-accounts pages).
"""

import uuid
from datetime import timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from connections.models import CallErrorGroup, CallRecord, Connection
from routing import health as destination_health
from webhooks.models import Delivery, DeliveryErrorGroup, Source

from . import figures, health

staff_only = permission_required("webhooks.view_delivery", raise_exception=True)
RANGES = {"1h": (timedelta(hours=1), False), "24h": (timedelta(hours=24), True),
          "7d": (timedelta(days=7), True)}  # fmt: skip
"""Range -> (span, hourly buckets); otherwise per minute."""
RANGE_LABELS = {"1h": "last hour", "24h": "last 24 h", "7d": "last 7 days"}


@login_required
def home(request):
    if request.user.has_perm("webhooks.view_delivery"):
        return overview(request)
    return redirect("linked-accounts")


@login_required
@staff_only
def overview(request):
    items = health.overview()
    wanted = request.GET.get("status")
    if wanted:
        items = [i for i in items if i.status == wanted]
    sort = request.GET.get("sort", "status")
    keys = {
        "status": lambda i: (i.severity, i.name.lower()),
        "name": lambda i: i.name.lower(),
        "errors": lambda i: -i.errors_day,
        "volume": lambda i: -i.total_day,
    }
    items.sort(key=keys.get(sort, keys["status"]))
    context = {
        "items": items, "status": wanted or "", "sort": sort, "now": timezone.now(),
        "destinations": destination_health.overview()
        if request.user.has_perm("routing.view_destination") else [],
        "sorts": [("status", "worst first"), ("name", "name"), ("errors", "most errors"),
                  ("volume", "most traffic")],
    }  # fmt: skip
    template = (
        "dashboard/_overview_rows.html"
        if request.GET.get("fragment")
        else "dashboard/overview.html"
    )
    return render(request, template, context)


@login_required
@staff_only
def integration(request, kind, pk):
    """One integration: its status, the figures of the chosen range (hub/figures.py), charts of
    those figures per bucket, its error history and recent activity."""
    range_name = request.GET.get("range", "24h")
    if range_name not in RANGES:
        range_name = "24h"
    span, hourly = RANGES[range_name]
    if kind == "source":
        obj = get_object_or_404(Source, pk=pk) if _is_uuid(pk) else None
        groups = DeliveryErrorGroup.objects.filter(source=obj)[:50]
        recent = (
            Delivery.objects.filter(source=obj)
            .defer("body", "headers")
            .order_by("-received_at")[:20]
        )
    elif kind == "connection" and pk.isdigit():
        obj = get_object_or_404(Connection, pk=pk)
        groups = CallErrorGroup.objects.filter(connection=obj)[:50]
        recent = CallRecord.objects.filter(connection=obj).order_by("-started_at")[:20]
    else:
        raise Http404
    if obj is None:
        raise Http404
    now = timezone.now()
    since = figures.window_start(now, span)
    found = figures.figures(kind, {"range": since}, ids=[obj.pk]).get(obj.pk)
    shown = found["range"] if found else figures.empty(kind)
    points = figures.series(kind, obj.pk, since, now, hourly=hourly)
    (item,) = health.overview(now, only=(kind, obj.pk))
    split = shown.refused_by_reason if kind == "source" else shown.failures_by_class
    breakdown = [(name, n) for name, n in split.items() if n]
    context = {
        "obj": obj, "kind": kind, "item": item, "figures": shown, "breakdown": breakdown,
        "groups": groups,
        "recent": recent, "range": range_name, "ranges": list(RANGES),
        "range_label": RANGE_LABELS[range_name],
        "all_statuses": ",".join(Delivery.Status.values),
        "series": {
            "hourly": hourly, "kind": kind, "points": [_point(at, f) for at, f in points],
        },
    }  # fmt: skip
    return render(request, "dashboard/integration.html", context)


def _point(at, f) -> dict:
    point = {"at": at.isoformat(), "volume": f.volume, "errors": f.errors, "p95": f.p95_ms}
    if isinstance(f, figures.SourceFigures):
        point.update(refused=f.refused, failed_attempts=f.failed_attempts)
    else:
        point.update(tests=f.tests)
    return point


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
