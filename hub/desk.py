"""The support desk: find deliveries, look at one, replay or erase it, and replay everything a
search shows as a background job whose page follows the outcomes.

Filters use the one vocabulary of webhooks.filters (``source``, ``provider``, ``status``,
``event_type``, ``external_id``, ``received_after``, ``received_before``, ``q``). With no status
chosen the desk shows what needs attention, ``dead,retrying``, and that is written into the
filters it uses, so "Replay all that match" replays exactly the list on screen.
"""

from datetime import UTC

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from core.paginators import BoundedCountPaginator
from routing import forwarding, jobs
from routing.models import Destination, Forward, ForwardJob, Route
from webhooks import operations
from webhooks.bodies import pretty, pretty_headers
from webhooks.filters import FILTER_FIELDS, describe, filtered
from webhooks.models import Delivery, ReplayJob, Source

staff_only = permission_required("webhooks.view_delivery", raise_exception=True)
NEEDS_ATTENTION = "dead,retrying"
PAGE = 50


def desk_filters(params) -> dict:
    """The filters the desk applies for these query parameters (the default status included)."""
    filters = {k: params[k].strip() for k in FILTER_FIELDS if params.get(k, "").strip()}
    filters.setdefault("status", NEEDS_ATTENTION)
    return filters


def _matches(filters):
    """(deliveries, error) for ``filters``: an invalid value is shown, never a 500."""
    try:
        return filtered(filters), None
    except ValueError as exc:
        errors = exc.args[0]
        text = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        return Delivery.objects.none(), text


@login_required
@staff_only
def support_desk(request):
    filters = desk_filters(request.GET)
    deliveries, error = _matches(filters)
    count = BoundedCountPaginator(deliveries, PAGE).count
    before = request.GET.get("before", "")
    if before.isdigit():
        deliveries = deliveries.filter(pk__lt=int(before))
    page = list(
        deliveries.select_related("source").defer("body", "headers").order_by("-pk")[: PAGE + 1]
    )
    more = len(page) > PAGE
    shown = {k: v for k, v in filters.items() if not (k == "status" and v == NEEDS_ATTENTION)}
    context = {
        "deliveries": page[:PAGE], "more": more, "next_before": page[PAGE - 1].pk if more else None,
        "count": count, "count_capped": count >= settings.HUB_ADMIN_COUNT_CAP,
        "filters": filters, "in_words": describe(filters), "error": error,
        "sources": Source.objects.order_by("name"), "statuses": Delivery.Status.choices,
        "all_statuses": ",".join(Delivery.Status.values),
        "query": urlencode(shown), "can_replay": request.user.has_perm("webhooks.replay_delivery"),
    }  # fmt: skip
    return render(request, "dashboard/support_desk.html", context)


@login_required
@staff_only
def delivery_detail(request, pk):
    delivery = get_object_or_404(Delivery.objects.select_related("source"), pk=pk)
    context = {
        "d": delivery, "body": pretty(delivery.body_text),
        "headers": pretty_headers(delivery.headers),
        "header_limit": settings.HUB_STORED_HEADER_BYTES,
        "attempts": delivery.attempt_set.order_by("number"),
        "why_not": operations.why_not_replayable(delivery),
        "in_flight": delivery.status in Delivery.Status.IN_FLIGHT,
        "can_replay": request.user.has_perm("webhooks.replay_delivery"),
        "can_erase": request.user.has_perm("webhooks.erase_delivery"),
        "forwards": delivery.forwards.select_related("route", "destination")
        .prefetch_related("attempt_set")
        .order_by("pk"),
        "can_replay_forwards": request.user.has_perm("routing.replay_forward"),
    }  # fmt: skip
    return render(request, "dashboard/delivery.html", context)


@login_required
@require_POST
def replay_forward(request, pk):
    """Send one forward again (same webhook-id); back to its delivery's page."""
    _require(request, "routing.replay_forward")
    forward = get_object_or_404(Forward, pk=pk)
    if forwarding.replay(Forward.objects.filter(pk=pk)):
        messages.success(request, f"Forward {pk} to {forward.destination.name} queued again.")
    else:
        messages.error(
            request,
            f"Forward {pk} is {forward.get_status_display().lower()} or being sent; only a "
            "delivered, dead or retrying forward can be replayed.",
        )
    return redirect("desk-delivery", forward.delivery_id)


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


@login_required
@require_POST
def replay_one(request, pk):
    _require(request, "webhooks.replay_delivery")
    done = operations.replay_one(get_object_or_404(Delivery, pk=pk), by=request.user.get_username())
    if done.ok:
        messages.success(request, f"Delivery {pk} queued again.")
    else:
        messages.error(request, done.reason)
    return redirect("desk-delivery", pk=pk)


@login_required
@require_POST
def erase_one(request, pk):
    _require(request, "webhooks.erase_delivery")
    done = operations.erase(get_object_or_404(Delivery, pk=pk), by=request.user.get_username())
    if done.ok:
        messages.success(request, "The payload was erased; the delivery's outcome stays.")
    else:
        messages.error(request, done.reason)
    return redirect("desk-delivery", pk=pk)


@login_required
def replay_matching(request):
    """GET: how many deliveries the desk's filters match, in words, and a button; POST: start
    the job with exactly those filters."""
    _require(request, "webhooks.replay_delivery")
    params = request.POST if request.method == "POST" else request.GET
    filters = desk_filters(params)
    deliveries, error = _matches(filters)
    back = reverse("desk") + "?" + urlencode(filters)
    if error:
        messages.error(request, f"Invalid filter: {error}")
        return redirect(back)
    if request.method == "POST":
        job = operations.start_job(filters, by_user=request.user)
        return redirect("desk-job", pk=job.pk)
    context = {
        "filters": filters, "in_words": describe(filters), "count": deliveries.count(),
        "back": back,
    }  # fmt: skip
    return render(request, "dashboard/replay_confirm.html", context)


@login_required
@staff_only
def replay_job(request, pk):
    job = get_object_or_404(ReplayJob.objects.select_related("created_by"), pk=pk)
    context = {"job": job, "in_words": describe(job.filters), **operations.job_outcomes(job)}
    return render(request, "dashboard/replay_job.html", context)


FORWARD_LIST = 100


def _forward_filters(params):
    """The desk's forward filters, read and checked: (destination, route, statuses, since,
    error). Every value is validated against its grammar before it reaches a query."""
    error = ""
    destination = route = None
    statuses = [v for v in params.get("status", "").split(",") if v]
    if any(v not in Forward.Status.values for v in statuses):
        error = (
            f"Unknown status in {params.get('status')!r}; use {', '.join(Forward.Status.values)}."
        )
    if params.get("destination"):
        if params["destination"].isdigit():
            destination = Destination.objects.filter(pk=params["destination"]).first()
        if destination is None:
            error = "No such destination."
    if params.get("route"):
        if params["route"].isdigit():
            route = Route.objects.filter(pk=params["route"]).first()
        if route is None:
            error = "No such route."
    since = None
    if params.get("since"):
        since = parse_datetime(params["since"])
        if since is None:
            error = "'since' is a date and time, e.g. 2026-12-01T00:00."
        elif timezone.is_naive(since):
            since = timezone.make_aware(since, UTC)
    return destination, route, statuses, since, error


@login_required
@permission_required("routing.view_forward", raise_exception=True)
def forwards_desk(request):
    """Forwards by destination, route, status and time; replay every match as a job."""
    destination, route, statuses, since, error = _forward_filters(request.GET)
    forwards = Forward.objects.select_related("destination", "route").order_by("-pk")
    if not error:
        if destination:
            forwards = forwards.filter(destination=destination)
        if route:
            forwards = forwards.filter(route=route)
        if statuses:
            forwards = forwards.filter(status__in=statuses)
        if since:
            forwards = forwards.filter(created_at__gte=since)
    context = {
        "forwards": forwards[:FORWARD_LIST] if not error else [],
        "error": error,
        "destinations": Destination.objects.order_by("name"),
        "routes": Route.objects.order_by("name"),
        "statuses": Forward.Status.choices,
        "chosen": {
            "destination": destination.pk if destination else None,
            "route": route.pk if route else None,
            "status": ",".join(statuses), "since": request.GET.get("since", ""),
        },
        "can_replay": request.user.has_perm("routing.replay_forward"),
        "shown": FORWARD_LIST,
    }  # fmt: skip
    return render(request, "dashboard/forwards.html", context)


@login_required
@require_POST
def forwards_replay(request):
    """Start a job replaying every delivered, dead or retrying forward the filters match."""
    _require(request, "routing.replay_forward")
    destination, route, statuses, since, error = _forward_filters(request.POST)
    if not error:
        try:
            job = jobs.start(
                user=request.user, destination=destination, route=route,
                statuses=statuses or ("dead",), since=since,
            )  # fmt: skip
        except ValueError as exc:
            error = str(exc)
    if error:
        messages.error(request, error)
        return redirect("desk-forwards")
    return redirect("desk-forward-job", pk=job.pk)


@login_required
@permission_required("routing.view_forwardjob", raise_exception=True)
def forward_job(request, pk):
    job = get_object_or_404(ForwardJob.objects.select_related("destination", "route"), pk=pk)
    running = job.state in (ForwardJob.State.PENDING, ForwardJob.State.RUNNING)
    return render(request, "dashboard/forward_job.html", {"job": job, "running": running})
