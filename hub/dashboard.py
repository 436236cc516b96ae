"""Operator pages: the health overview, an integration's detail, and the support desk.

Staff with the ``webhooks.view_delivery`` permission (admins and support) see them; everyone
else is refused (end users have their linked-accounts pages).
"""

import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import connection as db
from django.db.models import F, Func, TextField, Value
from django.db.models.functions import Cast
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from connections.models import CallErrorGroup, CallRecord, Connection
from webhooks import replay, retention
from webhooks.bodies import pretty
from webhooks.filters import filtered
from webhooks.models import Delivery, DeliveryErrorGroup, ReplayJob, Source

from . import figures, health

staff_only = permission_required("webhooks.view_delivery", raise_exception=True)
RANGES = {"1h": (timedelta(hours=1), False), "24h": (timedelta(hours=24), True),
          "7d": (timedelta(days=7), True)}  # fmt: skip
"""Range -> (span, hourly buckets); otherwise per minute."""
RANGE_LABELS = {"1h": "last hour", "24h": "last 24 h", "7d": "last 7 days"}
DESK_STATUSES = ("dead", "retrying")
PAGE = 50


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
    context = {
        "obj": obj, "kind": kind, "item": item, "figures": shown, "groups": groups,
        "recent": recent, "range": range_name, "ranges": list(RANGES),
        "range_label": RANGE_LABELS[range_name],
        "series": {"hourly": hourly, "points": [_point(at, f) for at, f in points]},
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


def _desk_filters(params) -> dict:
    filters = {k: params[k] for k in ("source", "provider", "event_type", "status",
               "received_after", "received_before") if params.get(k)}  # fmt: skip
    return filters


@login_required
@staff_only
def support_desk(request):
    filters = _desk_filters(request.GET)
    try:
        deliveries = filtered(filters)
    except ValueError as exc:
        deliveries, error = Delivery.objects.none(), exc.args[0]
    else:
        error = None
    if "status" not in filters:
        deliveries = deliveries.filter(status__in=DESK_STATUSES)
    text = request.GET.get("q", "").strip()
    if text:
        deliveries = deliveries.annotate(text=_body_text()).filter(text__icontains=text)
    before = request.GET.get("before", "")
    if before.isdigit():
        deliveries = deliveries.filter(pk__lt=int(before))
    page = list(
        deliveries.select_related("source").defer("body", "headers").order_by("-pk")[: PAGE + 1]
    )
    more = len(page) > PAGE
    context = {
        "deliveries": page[:PAGE], "more": more, "next_before": page[PAGE - 1].pk if more else None,
        "filters": filters, "q": text, "error": error, "sources": Source.objects.order_by("name"),
        "statuses": Delivery.Status.choices, "query": request.GET.urlencode(),
        "can_replay": request.user.has_perm("webhooks.replay_delivery"),
    }  # fmt: skip
    return render(request, "dashboard/support_desk.html", context)


def _body_text():
    """The body as text for payload search (bytea on PostgreSQL, blob on SQLite)."""
    if db.vendor == "postgresql":
        return Func(F("body"), Value("UTF8"), function="convert_from", output_field=TextField())
    return Cast("body", TextField())


@login_required
@staff_only
def delivery_detail(request, pk):
    delivery = get_object_or_404(Delivery.objects.select_related("source"), pk=pk)
    context = {
        "d": delivery, "body": pretty(delivery.body_text),
        "headers": json.dumps(delivery.headers, indent=2, sort_keys=True),
        "header_limit": settings.HUB_STORED_HEADER_BYTES,
        "attempts": delivery.attempt_set.order_by("number"),
        "why_not": replay.why_not_replayable(delivery),
        "can_replay": request.user.has_perm("webhooks.replay_delivery"),
        "can_erase": request.user.has_perm("webhooks.erase_delivery"),
    }  # fmt: skip
    return render(request, "dashboard/delivery.html", context)


@login_required
@require_POST
def replay_one(request, pk):
    if not request.user.has_perm("webhooks.replay_delivery"):
        raise PermissionDenied
    from django.contrib import messages

    delivery = get_object_or_404(Delivery, pk=pk)
    if replay.replay_ids([pk], by=request.user.get_username()):
        messages.success(request, f"Delivery {pk} queued again.")
    else:
        messages.error(request, replay.why_not_replayable(delivery) or "It changed state.")
    return redirect("desk-delivery", pk=pk)


@login_required
@require_POST
def erase_one(request, pk):
    if not request.user.has_perm("webhooks.erase_delivery"):
        raise PermissionDenied
    from django.contrib import messages

    if retention.erase(get_object_or_404(Delivery, pk=pk), request.user.get_username()):
        messages.success(request, "The payload was erased; the delivery's outcome stays.")
    else:
        messages.error(request, "It is being processed; erase it once it has finished.")
    return redirect("desk-delivery", pk=pk)


@login_required
@require_POST
def replay_matching(request):
    if not request.user.has_perm("webhooks.replay_delivery"):
        raise PermissionDenied
    filters = _desk_filters(request.POST)
    filters.setdefault("status", "dead")
    try:
        job = replay.start_job(filters, user=request.user)
    except ValueError:
        raise PermissionDenied("Invalid filters.") from None
    return redirect("desk-job", pk=job.pk)


@login_required
@staff_only
def replay_job(request, pk):
    return render(
        request, "dashboard/replay_job.html", {"job": get_object_or_404(ReplayJob, pk=pk)}
    )
