"""Fanning a delivery out to its routes and sending each forward, reliably.

``fan_out(deliveries)`` (a worker, for the deliveries of a message, on every attempt, through
the ``webhooks.signals.deliveries_claimed`` signal) creates one ``Forward`` per enabled route whose
source (or provider) and event types match: ``filtered`` when the route's filter is false,
``held`` when the route is paused or the destination disabled, else ``pending``; once per
(delivery, route), so a retried or replayed delivery makes no second forward. Pending forwards
are published after the commit.

``send(forward_id)`` (the ``routing.forward_batch`` task, for each id of a message) claims the
forward (``routing.claims``: due, unclaimed, and for an ordered route nothing earlier of its key
or its source still waiting), POSTs it, and records the attempt and the outcome fenced on the
claim; an ordered outcome lets the next forward of its key go (sent by the same task for
HUB_FORWARD_CHAIN_SECONDS):

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
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import mail_admins
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from connections.errors import IntegrationError
from core import bulk
from core.redact import redact
from webhooks import registry
from webhooks.bodies import loads
from webhooks.errors import PermanentError
from webhooks.events import Event
from webhooks.models.source import retry_delays
from webhooks.signatures import standard_webhooks_key

from .claims import claim, heads, next_of_key
from .expressions import ExpressionError, evaluate
from .models import Destination, Forward, ForwardAttempt, Route

logger = logging.getLogger(__name__)
F_ = Forward.Status
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


def _candidates(deliveries) -> list[Route]:
    """The enabled routes of these deliveries' sources and providers, whatever the event, with
    one query for all of them (and a cheaper one first when no route can match)."""
    sources = {d.source_id for d in deliveries}
    providers = {d.provider for d in deliveries}
    if not _any_route(sources, providers):
        return []
    return list(
        Route.objects.filter(Q(source_id__in=sources) | Q(provider__in=providers), enabled=True)
        .select_related("destination")
        .order_by("pk")
    )


def _matching(deliveries, routes: list[Route]) -> dict[int, list[Route]]:
    """Each delivery's routes among ``routes`` whose source (or provider) and event types match."""
    return {
        d.pk: [
            r
            for r in routes
            if (r.source_id == d.source_id or r.provider == d.provider) and r.matches(d.event_type)
        ]
        for d in deliveries
    }


def _any_route(sources, providers) -> bool:
    """Whether an enabled route names one of these sources or providers: one raw SELECT, as
    every message of every worker asks this (the ORM's compiling cost 1.5 ms of a message's
    8 ms in the processing benchmark, where most hubs have no route for most sources)."""
    source_field = Route._meta.get_field("source")
    keys = [source_field.get_db_prep_value(s, connection) for s in sources]
    sql = (
        f"SELECT 1 FROM {Route._meta.db_table} WHERE enabled = %s AND ("  # noqa: S608
        f"source_id IN ({bulk.placeholders(len(keys))}) "
        f"OR provider IN ({bulk.placeholders(len(providers))})) LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, *keys, *providers])
        return cursor.fetchone() is not None


def fan_out(deliveries) -> list[int]:
    """Create the deliveries' forwards (once per delivery and route) in one INSERT; returns the
    pending ids, published after the commit."""
    if not isinstance(deliveries, list | tuple):
        deliveries = [deliveries]
    candidates = _candidates(deliveries)
    matched = _matching(deliveries, candidates)
    # Ordered forwards of these routes may be parked behind these deliveries, whether or not
    # they make a forward of their own (another event type, say): wake them after the commit.
    ordered = {r.pk for r in candidates if r.ordering_key}
    first = min(d.pk for d in deliveries)
    rows = []
    for delivery in deliveries:
        if matched[delivery.pk]:
            doc = document(delivery)
            rows += [_new_forward(delivery, route, doc) for route in matched[delivery.pk]]
    if not rows:
        if ordered:
            transaction.on_commit(lambda: publish(heads(ordered, first)))
        return []
    with transaction.atomic():
        written = set(bulk.insert(rows, skip_conflicts=True))
        if len(written) == len(rows):  # the usual case: every forward is new (ids are given
            # in VALUES order, as Django's bulk_create also relies on)
            pending = {
                pk: f.destination_id
                for f, pk in zip(rows, sorted(written), strict=True)
                if f.status == F_.PENDING
            }
        else:  # a delivery fanned out before: its forwards never sent go again too
            pending = dict(
                Forward.objects.filter(
                    delivery__in=[d.pk for d in deliveries], status=F_.PENDING, attempts=0
                ).values_list("pk", "destination_id")
            )
        transaction.on_commit(lambda: publish({**pending, **heads(ordered, first)}))
    return sorted(pending)


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
                forward_batch.apply_async(
                    (chunk,),
                    countdown=countdown,
                    retry=False,
                    time_limit=len(chunk) * 70 + 30,  # each POST ends within 3 s + 60 s
                )
            except Exception:
                logger.warning(
                    "routing.publish.failed", extra={"forward_ids": chunk}, exc_info=True
                )
                ok = False
    return ok


# --- sending ---------------------------------------------------------------------------------


def send(forward_id: int) -> str | None:
    """Send one forward (see the module docstring); returns its new status, or None when it was
    not claimable (not due, already claimed, finished, or behind an earlier one of its key)."""
    return send_many([forward_id]).get(forward_id)


def send_many(ids: list[int]) -> dict[int, str]:
    """Send the claimable forwards among ``ids`` one after the other; record every outcome in
    one transaction (one commit per message, not per forward). Then, for HUB_FORWARD_CHAIN_
    SECONDS, send the next forward of each ordering key those outcomes let go, in this task
    (at most as many a round as the message had: its time limit holds), and publish what is
    left: a key's chain does not wait in the queue once per forward. Returns {id: new status}."""
    deadline = time.monotonic() + settings.HUB_FORWARD_CHAIN_SECONDS
    size = len(ids)
    outcomes: dict[int, str] = {}
    while ids:
        chain: dict[int, int] = {}
        outcomes.update(_send_round(list(ids), chain))
        if time.monotonic() >= deadline:
            publish(chain)
            break
        waiting = sorted(chain)
        ids = waiting[:size]
        publish({pk: chain[pk] for pk in waiting[size:]})
    return outcomes


def _send_round(ids: list[int], chain: dict[int, int]) -> dict[int, str]:
    """One round of send_many; the next forwards of the keys it finished go into ``chain``."""
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    results: list[Sent] = []
    outcomes: dict[int, str] = {}
    for forward in claim(list(ids), worker, now):
        route, destination = forward.route, forward.destination
        if route.paused or not route.enabled or not destination.enabled:
            why = "The route is paused." if route.paused else "The destination is disabled."
            if not route.enabled:
                why = "The route is disabled."
            _hold(forward, why)
            outcomes[forward.pk] = F_.HELD
            continue
        if destination.kind == Destination.Kind.HANDLER:
            outcomes.update(_run_handler(forward, worker, now, chain))
            continue
        started, t0 = timezone.now(), time.perf_counter()
        try:
            body, headers = _request(forward)
        except ExpressionError as exc:
            results.append(Sent(forward, started, 0, {}, None, "", str(exc), final=True))
            continue
        status_code, excerpt, error = _post(destination, body, headers)
        duration_ms = int((time.perf_counter() - t0) * 1000)
        results.append(Sent(forward, started, duration_ms, headers, status_code, excerpt, error))
    if results:
        outcomes.update(_settle(results, worker, now, chain))
    return outcomes


@dataclass
class Sent:
    """One forward's attempt, as sent, waiting to be recorded."""

    forward: Forward
    started: object
    duration_ms: int
    headers: dict
    status_code: int | None
    excerpt: str
    error: str
    final: bool = False
    """No retry can help (its transform fails on this delivery)."""
    succeeded: bool | None = None
    """A handler's result (HTTP forwards go by their status code)."""

    @property
    def ok(self) -> bool:
        if self.succeeded is not None:
            return self.succeeded
        return self.status_code is not None and 200 <= self.status_code < 300


class _Lost(Exception):
    """The sweep took the forward back while its handler ran: roll the handler's writes back."""


def _run_handler(forward: Forward, worker: str, claimed_at, chain=None) -> dict[int, str]:
    """Call a handler destination's handler with the event, in one transaction with the
    forward's outcome: its writes commit with a delivered outcome, or not at all."""
    path = forward.destination.handler
    started, t0 = timezone.now(), time.perf_counter()
    try:
        with transaction.atomic():
            handler = registry.handlers().get(path)
            if handler is None:
                raise PermanentError(f"No registered handler is called {path!r} any more.")
            handler(_event(forward))
            sent = Sent(forward, started, int((time.perf_counter() - t0) * 1000), {}, None, "",
                        "", succeeded=True)  # fmt: skip
            outcome = _settle([sent], worker, claimed_at, chain)
            if not outcome:
                raise _Lost
            return outcome
    except _Lost:
        return {}
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        sent = Sent(forward, started, int((time.perf_counter() - t0) * 1000), {}, None, "",
                    error, final=isinstance(exc, PermanentError), succeeded=False)  # fmt: skip
        return _settle([sent], worker, claimed_at, chain)


def _event(forward: Forward) -> Event:
    """What a handler destination's handler receives: the webhooks Event, with the route's
    transform applied to the payload when it has one."""
    delivery, source = forward.delivery, forward.delivery.source
    if forward.route.transform:
        payload = evaluate(forward.route.transform, document(delivery))
    else:
        payload = source.receiver.parse(bytes(delivery.body), delivery.headers_view())
    return Event(
        provider=delivery.provider,
        type=delivery.event_type,
        delivery_id=delivery.pk,
        external_id=delivery.external_id,
        payload=payload,
        source=source,
        connection=source.connection,
        attempt=forward.attempts,
    )


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
    excerpt = _excerpt(response)
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        error += " (a redirect: redirects are not followed; update the destination's URL)"
    return response.status_code, excerpt, error


def _excerpt(response) -> str:
    """The answer's first EXCERPT characters, decoding only the bytes they can take (a 10 MB
    answer is not decoded whole; no charset guessing over it when the header names none)."""
    head = response.content[: EXCERPT * 4]
    try:
        return head.decode(response.encoding or "utf-8", errors="replace")[:EXCERPT]
    except LookupError:  # the answer names a charset Python does not know
        return head.decode("utf-8", errors="replace")[:EXCERPT]


def _outcome(sent: Sent, now):
    """(status, next_attempt_at) of one attempt."""
    if sent.ok:
        return F_.DELIVERED, None
    forward = sent.forward
    delays = retry_delays(forward.route.retry_schedule)
    if sent.final or forward.attempts > len(delays):
        return F_.DEAD, None
    step = delays[forward.attempts - 1]
    wait = random.uniform(0, step) * settings.HUB_RETRY_TIME_SCALE  # noqa: S311 (not crypto)
    return F_.RETRYING, now + timezone.timedelta(seconds=wait)


def _settle(results: list[Sent], worker: str, claimed_at, chain=None) -> dict[int, str]:
    """Record the attempts and outcomes of one message in one transaction, fenced on the claim
    (a forward the sweep took back meanwhile records nothing here)."""
    now = timezone.now()
    outcomes: dict[int, str] = {}
    for sent in results:
        forward = sent.forward
        status, next_at = _outcome(sent, now)
        error = redact(sent.error, [forward.destination.secret])[:2000] if sent.error else ""
        forward.status, forward.next_attempt_at, forward.error = status, next_at, error
        forward.last_response_status = sent.status_code
        forward.delivered_at = now if sent.ok else None
    with transaction.atomic():
        ours = _write_outcomes([r.forward for r in results], worker, claimed_at)
        attempts, later, following, health = [], [], [], {}
        for sent in results:
            forward = sent.forward
            if forward.pk not in ours:
                logger.warning("routing.forward.claim_lost", extra={"forward_id": forward.pk})
                continue
            attempts.append(
                ForwardAttempt(
                    forward_id=forward.pk,
                    number=forward.attempts,
                    started_at=sent.started,
                    duration_ms=sent.duration_ms,
                    request_headers={
                        k: ("v1,<masked>" if k == "webhook-signature" else v)
                        for k, v in sent.headers.items()
                    },
                    response_status=sent.status_code,
                    response_excerpt=sent.excerpt,
                    error=forward.error,
                    worker=worker,
                )
            )
            outcomes[forward.pk] = forward.status
            health[forward.destination_id] = (forward.destination, sent.ok)
            if forward.next_attempt_at is not None:
                wait = (forward.next_attempt_at - now).total_seconds()
                later.append((forward.pk, forward.destination_id, max(0.0, wait)))
            if forward.status != F_.RETRYING and forward.ordering_key:
                following.append(forward)
        bulk.insert(attempts)
        for destination, ok in health.values():
            _destination_health(destination, ok, now)
        soon = [(pk, d, w) for pk, d, w in later if w <= settings.HUB_RETRY_COUNTDOWN_MAX]
        if soon:
            transaction.on_commit(lambda: [publish({pk: d}, countdown=w) for pk, d, w in soon])
        if following:
            transaction.on_commit(lambda: _let_go(following, chain))
    return outcomes


def _write_outcomes(rows: list[Forward], worker: str, claimed_at) -> set[int]:
    """Write the outcomes of the rows this claim still holds and release the claims; returns
    their ids (one UPDATE ... FROM VALUES, core.bulk)."""
    fields = ("status", "next_attempt_at", "error", "last_response_status", "delivered_at")
    return bulk.update_from_values(
        Forward,
        fields,
        [(f.pk, *(getattr(f, name) for name in fields)) for f in rows],
        fence={"claimed_by": worker, "claimed_at": claimed_at},
        constants={"claimed_at": None, "claimed_by": ""},
    )


def _let_go(finished: list[Forward], chain: dict | None) -> None:
    """After the commit: the next forward of each finished one's key, into the caller's
    ``chain`` (send_many sends them itself) or published."""
    found = {pk: d for f in finished for pk, d in next_of_key(f).items()}
    if chain is None:
        publish(found)
    else:
        chain.update(found)


def _hold(forward: Forward, why: str) -> None:
    Forward.objects.filter(
        pk=forward.pk, claimed_by=forward.claimed_by, claimed_at=forward.claimed_at
    ).update(status=F_.HELD, claimed_at=None, claimed_by="", attempts=F("attempts") - 1, error=why)


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
