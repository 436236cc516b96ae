"""Fanning a delivery out to its routes and sending each forward, reliably.

``fan_out(delivery)`` (a worker, on every attempt of a delivery, through the
``webhooks.signals.delivery_claimed`` signal) creates one ``Forward`` per enabled route whose
source (or provider) and event types match: ``filtered`` when the route's filter is false,
``held`` when the route is paused or the destination disabled, else ``pending``; once per
(delivery, route), so a retried or replayed delivery makes no second forward. Pending forwards
are published after the commit.

``send(forward_id)`` (the ``routing.forward_batch`` task, for each id of a message) claims the
forward with one conditional UPDATE (due, unclaimed, and for an ordered route no earlier forward
of its key still pending, retrying or held), POSTs it, and records the attempt and the outcome
fenced on the claim:

- the body is the delivery's, byte for byte, with its content type, or the transform's JSON;
- headers: the destination's extras, ``X-Hub-Source``, ``X-Hub-Event-Type``, ``X-Hub-Delivery``
  and a Standard Webhooks signature made with the destination's secret (``webhook-id`` is the
  forward's, the same on every attempt; ``webhook-timestamp``; ``webhook-signature: v1,...``);
- redirects are not followed; 2xx is ``delivered``, anything else a failed attempt, retried
  after ``uniform(0, step)`` of the route's schedule (HUB_RETRY_SCHEDULE by default), then
  ``dead``;
- a destination failing without a success for ``disable_after`` is disabled, its forwards held,
  and the admins are mailed.

A forward whose worker died keeps its claim until ``sweep()`` gives it back (the attempt may
have reached the destination: a duplicate carries the same ``webhook-id``).
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import random
import socket
import time

import requests
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from connections.errors import IntegrationError
from core.redact import redact
from webhooks.bodies import loads
from webhooks.models.source import retry_delays
from webhooks.signatures import standard_webhooks_key

from .expressions import ExpressionError, evaluate
from .models import Destination, Forward, ForwardAttempt, Route

logger = logging.getLogger(__name__)
F_ = Forward.Status
BLOCKING = (F_.PENDING, F_.RETRYING, F_.HELD)
"""Statuses of an earlier forward of the same ordering key that hold the later ones back."""
EXCERPT = 2000
SUCCESS_MARK_EVERY = timezone.timedelta(seconds=5)


# --- fan-out --------------------------------------------------------------------------------


def document(delivery) -> dict:
    """What route expressions read: the JSON body (None when it is not JSON) and the headers."""
    try:
        body = loads(bytes(delivery.body))
    except (ValueError, UnicodeDecodeError):
        body = None
    return {"body": body, "headers": dict(delivery.headers)}


def routes_for(delivery) -> list[Route]:
    routes = Route.objects.filter(
        Q(source_id=delivery.source_id) | Q(provider=delivery.provider), enabled=True
    ).select_related("destination")
    return [r for r in routes.order_by("pk") if r.matches(delivery.event_type)]


def fan_out(delivery) -> list[int]:
    """Create the delivery's forwards (once per route); returns the ids published."""
    routes = routes_for(delivery)
    if not routes:
        return []
    doc = document(delivery)
    rows = [_new_forward(delivery, route, doc) for route in routes]
    with transaction.atomic():
        Forward.objects.bulk_create(rows, ignore_conflicts=True)
        ids = list(
            Forward.objects.filter(delivery=delivery, status=F_.PENDING, attempts=0)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: publish(ids))
    return ids


def _new_forward(delivery, route: Route, doc: dict) -> Forward:
    forward = Forward(delivery=delivery, route=route, destination=route.destination)
    try:
        if route.filter and not evaluate(route.filter, doc):
            forward.status, forward.error = F_.FILTERED, f"The filter {route.filter!r} is false."
            return forward
        if route.ordering_key:
            forward.ordering_key = _key_text(evaluate(route.ordering_key, doc))
    except ExpressionError as exc:
        forward.status, forward.error = F_.DEAD, str(exc)
        return forward
    if route.paused:
        forward.status, forward.error = F_.HELD, "The route is paused."
    elif not route.destination.enabled:
        forward.status, forward.error = F_.HELD, "The destination is disabled."
    return forward


def _key_text(value) -> str:
    """An ordering key's value as stored: text as is, anything else as compact JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text[:255]


# --- publishing ------------------------------------------------------------------------------


def publish(ids, countdown: float | None = None) -> bool:
    """Publish ``routing.forward_batch`` messages of up to HUB_PUBLISH_BATCH ids, each message
    one destination's (so a slow destination's message holds only its own forwards); never
    raises: the sweep republishes what is lost."""
    from .tasks import forward_batch

    ids = list(ids)
    if not ids:
        return True
    by_destination: dict[int, list[int]] = {}
    for pk, destination_id in Forward.objects.filter(pk__in=ids).values_list(
        "pk", "destination_id"
    ):
        by_destination.setdefault(destination_id, []).append(pk)
    size, ok = settings.HUB_PUBLISH_BATCH, True
    for chunk_ids in by_destination.values():
        chunk_ids.sort()
        for start in range(0, len(chunk_ids), size):
            chunk = chunk_ids[start : start + size]
            try:
                forward_batch.apply_async((chunk,), countdown=countdown, retry=False)
            except Exception:
                logger.warning(
                    "routing.publish.failed", extra={"forward_ids": chunk}, exc_info=True
                )
                ok = False
    return ok


# --- sending ---------------------------------------------------------------------------------


def _claim(forward_id: int, worker: str, now) -> Forward | None:
    """One conditional UPDATE. Unordered forwards (most) are tried first with a plain one; an
    ordered forward also needs no earlier forward of its key pending, retrying or held (a
    correlated NOT EXISTS on index routing_fw_key, only ever run for that case)."""
    claimable = Forward.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=forward_id,
        status__in=(F_.PENDING, F_.RETRYING),
        claimed_at__isnull=True,
    )
    changes = {"claimed_at": now, "claimed_by": worker, "attempts": F("attempts") + 1}
    won = claimable.filter(ordering_key="").update(**changes)
    if not won:
        earlier = Forward.objects.filter(
            route_id=OuterRef("route_id"),
            ordering_key=OuterRef("ordering_key"),
            pk__lt=OuterRef("pk"),
            status__in=BLOCKING,
        )
        won = claimable.exclude(ordering_key="").filter(~Exists(earlier)).update(**changes)
    if not won:
        return None
    return Forward.objects.select_related("delivery", "route", "destination").get(pk=forward_id)


def send(forward_id: int) -> str | None:
    """Send one forward (see the module docstring); returns its new status, or None when it was
    not claimable (not due, already claimed, finished, or behind an earlier one of its key)."""
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    forward = _claim(forward_id, worker, now)
    if forward is None:
        return None
    route, destination = forward.route, forward.destination
    if route.paused or not route.enabled or not destination.enabled:
        why = "The route is paused." if route.paused else "The destination is disabled."
        if not route.enabled:
            why = "The route is disabled."
        _hold(forward, why)
        return F_.HELD
    started, t0 = timezone.now(), time.perf_counter()
    body, headers = _request(forward)
    status_code, excerpt, error = _post(destination, body, headers)
    duration_ms = int((time.perf_counter() - t0) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    return _settle(forward, worker, ok, status_code, excerpt, error, started, duration_ms, headers)


def _request(forward: Forward) -> tuple[bytes, dict]:
    delivery, route, destination = forward.delivery, forward.route, forward.destination
    if route.transform:
        value = evaluate(route.transform, document(delivery))
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        content_type = "application/json"
    else:
        body = bytes(delivery.body)
        content_type = delivery.headers_view().get("Content-Type") or "application/octet-stream"
    timestamp = int(time.time())
    headers = {
        **destination.headers,
        "Content-Type": content_type,
        "User-Agent": "IntegrationHub/1",
        "X-Hub-Source": str(delivery.source_id),
        "X-Hub-Event-Type": delivery.event_type,
        "X-Hub-Delivery": str(delivery.pk),
        "webhook-id": forward.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(destination.secret, forward.webhook_id, timestamp, body),
    }
    return body, headers


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>." + body>``, over the raw
    bytes (the ``standardwebhooks`` library verifies it)."""
    key = standard_webhooks_key(secret)
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


_session = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
        _session.trust_env = False
    return _session


def _post(destination: Destination, body: bytes, headers: dict):
    """(status code or None, the answer's first characters, error text or "")."""
    try:
        if destination.connection_id:
            response = destination.connection.client().post(
                destination.url,
                data=body,
                headers=headers,
                timeout=(3.05, destination.timeout),
                allow_redirects=False,
            )
        else:
            response = _http().post(
                destination.url,
                data=body,
                headers=headers,
                timeout=(3.05, destination.timeout),
                allow_redirects=False,
            )
    except IntegrationError as exc:
        return exc.status, "", str(exc)
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: the destination could not be reached ({exc})."
    excerpt = response.text[:EXCERPT] if response.content else ""
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        error += " (a redirect: redirects are not followed; update the destination's URL)"
    return response.status_code, excerpt, error


def _settle(forward, worker, ok, status_code, excerpt, error, started, duration_ms, headers):
    destination, now = forward.destination, timezone.now()
    next_at = None
    if ok:
        status = F_.DELIVERED
    else:
        delays = retry_delays(forward.route.retry_schedule)
        if forward.attempts > len(delays):
            status = F_.DEAD
        else:
            wait = random.uniform(0, delays[forward.attempts - 1]) * settings.HUB_RETRY_TIME_SCALE  # noqa: S311
            status, next_at = F_.RETRYING, now + timezone.timedelta(seconds=wait)
    shown = {k: ("v1,<masked>" if k == "webhook-signature" else v) for k, v in headers.items()}
    with transaction.atomic():
        held = Forward.objects.filter(
            pk=forward.pk, claimed_by=worker, attempts=forward.attempts
        ).update(
            status=status,
            next_attempt_at=next_at,
            claimed_at=None,
            claimed_by="",
            last_response_status=status_code,
            error=redact(error, [destination.secret])[:2000],
            delivered_at=now if ok else None,
        )
        if not held:
            logger.warning("routing.forward.claim_lost", extra={"forward_id": forward.pk})
            return None
        ForwardAttempt.objects.create(
            forward_id=forward.pk,
            number=forward.attempts,
            started_at=started,
            duration_ms=duration_ms,
            request_headers=shown,
            response_status=status_code,
            response_excerpt=excerpt,
            error=redact(error, [destination.secret])[:2000],
            worker=worker,
        )
        _destination_health(destination, ok, now)
        if (
            next_at is not None
            and (next_at - now).total_seconds() <= settings.HUB_RETRY_COUNTDOWN_MAX
        ):
            wait = max(0.0, (next_at - now).total_seconds())
            transaction.on_commit(lambda: publish([forward.pk], countdown=wait))
        if status != F_.RETRYING and forward.ordering_key:
            transaction.on_commit(lambda: publish(next_of_key(forward)))
    return status


def next_of_key(forward: Forward) -> list[int]:
    """The next forward of the same route and ordering key, if one is waiting."""
    following = (
        Forward.objects.filter(
            route_id=forward.route_id,
            ordering_key=forward.ordering_key,
            pk__gt=forward.pk,
            status__in=(F_.PENDING, F_.RETRYING),
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:1]
    )
    return list(following)


def _hold(forward: Forward, why: str) -> None:
    Forward.objects.filter(pk=forward.pk, claimed_by=forward.claimed_by).update(
        status=F_.HELD, claimed_at=None, claimed_by="", attempts=F("attempts") - 1, error=why
    )


def _destination_health(destination: Destination, ok: bool, now) -> None:
    """Success clears the failing streak; a streak longer than ``disable_after`` disables the
    destination (its waiting forwards are held; admins are mailed after the commit)."""
    rows = Destination.objects.filter(pk=destination.pk)
    if ok:
        last = destination.last_success_at
        if destination.failing_since or last is None or now - last > SUCCESS_MARK_EVERY:
            # at most one write per destination every few seconds: a busy destination's row
            # would otherwise be the lock every worker process queues on
            rows.update(failing_since=None, last_success_at=now)
        return
    rows.filter(failing_since__isnull=True).update(failing_since=now)
    since = rows.values_list("failing_since", flat=True).first()
    if since is None or now - since < destination.disable_after or not destination.enabled:
        return
    reason = f"No successful forward since {since:%Y-%m-%d %H:%M} UTC; disabled automatically."
    if rows.filter(enabled=True).update(enabled=False, disabled_reason=reason):
        Forward.objects.filter(
            destination=destination, status__in=(F_.PENDING, F_.RETRYING)
        ).update(status=F_.HELD, error="The destination is disabled.")
        transaction.on_commit(
            lambda: mail_admins(
                f"Destination {destination.name} disabled",
                f"{reason}\nIts forwards are held; re-enable it and release them in the admin.",
                fail_silently=True,
            )
        )


# --- operations -------------------------------------------------------------------------------


def release(forwards) -> list[int]:
    """Held forwards of ``forwards`` (a queryset) -> pending, published oldest first."""
    with transaction.atomic():
        ids = list(forwards.filter(status=F_.HELD).order_by("pk").values_list("pk", flat=True))
        Forward.objects.filter(pk__in=ids).update(status=F_.PENDING, error="", next_attempt_at=None)
        transaction.on_commit(lambda: publish(ids))
    return ids


REPLAYABLE = (F_.DELIVERED, F_.DEAD, F_.RETRYING)


def replay(forwards) -> list[int]:
    """Send delivered, dead or retrying forwards of ``forwards`` again (same ``webhook-id``)."""
    with transaction.atomic():
        ids = list(
            forwards.filter(status__in=REPLAYABLE, claimed_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Forward.objects.filter(pk__in=ids).update(
            status=F_.PENDING, next_attempt_at=None, delivered_at=None, error=""
        )
        transaction.on_commit(lambda: publish(ids))
    return ids


def sweep(now=None) -> dict:
    """Beat: give back lost claims, publish due retries and pending forwards nobody sent."""
    now = now or timezone.now()
    batch = settings.HUB_SWEEP_BATCH
    lost_before = now - timezone.timedelta(seconds=settings.HUB_FORWARD_CLAIM_TIMEOUT)
    lost = list(
        Forward.objects.filter(claimed_at__lt=lost_before).values_list("pk", flat=True)[:batch]
    )
    Forward.objects.filter(pk__in=lost, claimed_at__lt=lost_before).update(
        claimed_at=None,
        claimed_by="",
        status=F_.RETRYING,
        next_attempt_at=now,
        error="The worker stopped before recording an outcome; sent again (same webhook-id).",
    )
    stale = now - timezone.timedelta(seconds=settings.HUB_SWEEP_QUEUED_AFTER)
    due = list(
        Forward.objects.filter(
            Q(status=F_.RETRYING, next_attempt_at__lte=now)
            | Q(status=F_.PENDING, created_at__lt=stale),
            claimed_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    publish(due)
    return {"lost": len(lost), "published": len(due)}
