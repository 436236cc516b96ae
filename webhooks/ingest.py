"""Receiving one webhook request: verify, store, acknowledge. Nothing else runs here.

Contract of ``receive(request, source_id)`` (it returns the HttpResponse to send):

- 202 ``{"id", "status": "queued"}``: the delivery row is committed; processing was handed to
  Celery after the commit (if the broker is down, the periodic sweep hands it over later).
- 200 ``{"id", "status": "processed"}``: a handshake stored and done (GitHub ping); Slack's
  url_verification gets ``{"challenge": ...}``.
- 200 ``{"id", "status": "duplicate"}``: this provider delivery id was already stored.
- 4xx/5xx ``{"status": "rejected", "error": <code>, "detail": <text>}``: 404 unknown or disabled
  source; 401 missing/invalid/malformed signature or timestamp outside tolerance; 413 body over
  the source's limit; 400 authentic body that cannot be parsed or nested too deeply (kept raw);
  429 rate limited (with Retry-After); 503 database unavailable (with Retry-After).
  Requests refused for a known source are stored as ``rejected`` (body truncated unless
  authentic), at most HUB_REJECTED_STORE_PER_MINUTE per source per minute.

The rate limit counts verified requests against the source's ``rate_limit``; requests that fail
verification count against a budget of their own (the same rate), so unsigned traffic never
spends the budget of the sender who holds the secret. Stored headers are capped at
HUB_STORED_HEADER_BYTES (webhooks.incoming.stored_headers); verification reads them all.
"""

import contextlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import JsonResponse
from django.utils import timezone

from . import counts, source_cache
from .bodies import clean_text
from .incoming import BadContentLength, BodyTooLarge, read_body, remote_addr, stored_headers
from .models import Delivery, Source
from .publisher import enqueue
from .ratelimit import LIMITER
from .receiving import PayloadError
from .signatures import SignatureError
from .store import insert_delivery, insert_grouped

logger = logging.getLogger(__name__)


class Refusal(Exception):
    """A request the hub will not accept, with what to answer and what to keep."""

    def __init__(self, status, code, detail, *, body=b"", size=0, headers=None, truncate=True):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.body, self.size, self.headers, self.truncate = body, size, headers or {}, truncate


def receive(request, source_id: str) -> JsonResponse:
    source = None
    try:
        source = _source(source_id)
        return _accept(request, source)
    except Refusal as refusal:
        logger.warning(
            "webhooks.receive.%s",
            refusal.code,
            extra={"source_id": source_id, "status": refusal.status, "detail": refusal.detail},
        )
        if source is not None and refusal.status != 503:
            _store_rejection(request, source, refusal)
        response = JsonResponse(
            {"status": "rejected", "error": refusal.code, "detail": refusal.detail},
            status=refusal.status,
        )
        for name, value in refusal.headers.items():
            response[name] = value
        return response


def _source(source_id: str) -> Source:
    try:
        source = source_cache.get(source_id)
    except DatabaseError:
        raise _unavailable() from None
    if source is None or not source.enabled:
        raise Refusal(404, "unknown_source", "No enabled webhook source has this URL.")
    return source


def _accept(request, source: Source) -> JsonResponse:
    body = _read(request, source)
    receiver = source.receiver
    headers = request.headers
    try:
        source = _verify(source, body, headers)
    except Refusal as refusal:
        if refusal.status == 401:
            _check_rate(request, source, UNVERIFIED)
        raise
    _check_rate(request, source, VERIFIED)
    kept_headers, headers_cut = stored_headers(request.headers, _named_headers(source))
    try:
        payload = receiver.parse(body, headers)
    except PayloadError as exc:
        raise Refusal(400, "unparseable_body", str(exc), body=body, truncate=False) from None
    # Values read from the request go to text columns: no NUL, no unpaired surrogates.
    event_type = clean_text(receiver.event_type(payload, headers, source))[:200]
    external_id = receiver.external_id(payload, headers, source)
    external_id = clean_text(external_id) if external_id else external_id
    handshake = receiver.handshake(payload, headers)
    done = handshake is not None or event_type in receiver.done_at_ingest
    now = timezone.now()
    try:
        delivery_id = _insert(
            source_id=source.pk,
            provider=source.provider,
            event_type=event_type,
            external_id=external_id,
            status=Delivery.Status.PROCESSED if done else Delivery.Status.QUEUED,
            received_at=now,
            queued_at=None if done else now,
            processed_at=now if done else None,
            headers=kept_headers,
            headers_cut=headers_cut,
            body=body,
            body_size=len(body),
            remote_addr=remote_addr(request.META),
        )
    except IntegrityError:
        return _duplicate(source, external_id)
    except DatabaseError:
        raise _unavailable() from None
    # Autocommit: the row is committed once the INSERT returns, so the 2xx below is durable.
    counts.count(source.pk, now, received=1, processed=1 if done else 0)
    if done:
        with contextlib.suppress(DatabaseError):  # stored already: a failed mark is not an error
            Source.objects.filter(pk=source.pk).update(verified_at=now)
        return JsonResponse(handshake or {"id": delivery_id, "status": "processed"})
    enqueue(delivery_id)
    return JsonResponse({"id": delivery_id, "status": "queued"}, status=202)


def _insert(**values) -> int:
    """INSERT in autocommit, grouped with this process's concurrent requests
    (HUB_INGEST_GROUP_COMMIT, webhooks.store); inside a caller's transaction, on its connection
    in a savepoint so a duplicate does not poison it."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return insert_delivery(values)
    if settings.HUB_INGEST_GROUP_COMMIT:
        return insert_grouped(values)
    return insert_delivery(values)


VERIFIED, UNVERIFIED = "webhooks.receive", "webhooks.receive.unverified"
"""Rate-limit groups: verified requests, and those that failed verification (kept apart)."""


def _named_headers(source: Source) -> tuple[str, ...]:
    """The source's own configured header names (generic HMAC), kept first when capping."""
    return (source.signature_header, source.id_header, source.event_header)


def _check_rate(request, source: Source, group: str) -> None:
    """429 when over the source's rate in ``group`` (webhooks.ratelimit: shared by every web
    process, few cache round trips). If the cache is down the limit fails open: losing a
    provider's delivery is worse than accepting a burst."""
    try:
        usage = LIMITER.hit(group, str(source.pk), source.rate_limit)
    except Exception:
        logger.warning("webhooks.receive.ratelimit_unavailable", exc_info=True)
        return
    if usage.should_limit:
        wait = max(1, usage.time_left)
        which = "" if group == VERIFIED else " that failed verification"
        raise Refusal(
            429,
            "rate_limited",
            f"More than {source.rate_limit} requests{which} for this source; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


def _read(request, source: Source) -> bytes:
    try:
        return read_body(request, source.max_body_bytes)
    except BodyTooLarge as exc:
        raise Refusal(
            413,
            "body_too_large",
            f"The body is over this source's limit of {source.max_body_bytes} bytes.",
            body=exc.head,
            size=exc.size or 0,
        ) from None
    except BadContentLength:
        raise Refusal(400, "bad_content_length", "Content-Length is not a number.") from None


def _verify(source: Source, body: bytes, headers) -> Source:
    """The source whose secrets verify ``body``; re-reads the row once if the cached one fails."""
    now = time.time()
    try:
        source.receiver.scheme(source).verify(source.valid_secrets(), body, headers, now)
        return source
    except SignatureError:
        pass
    try:
        fresh = source_cache.get(str(source.pk), refresh=True)
    except DatabaseError:
        raise _unavailable() from None
    if fresh is None or not fresh.enabled:
        raise Refusal(404, "unknown_source", "No enabled webhook source has this URL.")
    try:
        fresh.receiver.scheme(fresh).verify(fresh.valid_secrets(), body, headers, now)
    except SignatureError as exc:
        raise Refusal(401, exc.code, exc.detail, body=body) from None
    return fresh


def _duplicate(source: Source, external_id: str | None) -> JsonResponse:
    try:
        existing = (
            Delivery.objects.filter(source=source, external_id=external_id)
            .exclude(status=Delivery.Status.REJECTED)
            .values_list("pk", flat=True)
            .first()
        )
    except DatabaseError:
        raise _unavailable() from None
    if existing is None:  # the source was deleted between lookup and insert
        source_cache.clear()
        raise Refusal(404, "unknown_source", "No enabled webhook source has this URL.")
    return JsonResponse({"id": existing, "status": "duplicate"})


def _unavailable() -> Refusal:
    return Refusal(
        503,
        "database_unavailable",
        "The hub cannot store deliveries right now; nothing was stored. Retry later.",
        headers={"Retry-After": "30"},
    )


def _store_rejection(request, source: Source, refusal: Refusal) -> None:
    """Keep the refused request for support, unless this source is flooding us."""
    counts.count(source.pk, timezone.now(), **counts.refusal(refusal.status))
    minute = int(time.time() // 60)
    key = f"hub:webhooks:rejected:{source.pk}:{minute}"
    try:
        if not cache.add(key, 1, 120):
            count = cache.incr(key)
            if count > settings.HUB_REJECTED_STORE_PER_MINUTE:
                return
        body = (
            refusal.body
            if not refusal.truncate
            else refusal.body[: settings.HUB_REJECTED_BODY_BYTES]
        )
        kept_headers, headers_cut = stored_headers(request.headers, _named_headers(source))
        _insert(
            source_id=source.pk,
            provider=source.provider,
            status=Delivery.Status.REJECTED,
            http_status=refusal.status,
            error=f"{refusal.code}: {refusal.detail}",
            headers=kept_headers,
            headers_cut=headers_cut,
            body=body,
            body_size=refusal.size or len(refusal.body),
            remote_addr=remote_addr(request.META),
        )
    except Exception:  # storing the evidence must never change the answer
        logger.exception(
            "webhooks.receive.rejection_not_stored", extra={"source_id": str(source.pk)}
        )
