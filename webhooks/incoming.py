"""Reading what a webhook request carries: the raw body (bounded), headers, sender address.

``stored_headers(request.headers, keep)`` is what a delivery row keeps of the request's
headers: at most ``HUB_STORED_HEADER_BYTES`` (names plus values), credentials masked. Headers
that identify the delivery come first (content type, user agent, and any whose name speaks of
a signature, id, event, topic, timestamp or delivery, plus the source's own configured names in
``keep``), then the rest in name order; a header that does not fit is left out (the first one
is cut to fit). It returns the headers and how many bytes were left out. Verification always
uses the full request headers: only storage is capped.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest

from .bodies import clean_text

MASKED = "********"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"}
)


class BodyTooLarge(Exception):
    def __init__(self, head: bytes, size: int | None):
        self.head, self.size = head, size


class BadContentLength(Exception):
    pass


def read_body(request, limit: int) -> bytes:
    """The raw body, reading at most ``limit`` bytes.

    Raises BodyTooLarge (with the first HUB_REJECTED_BODY_BYTES) when the declared or actual size
    is over ``limit``; nothing past the limit is ever read. Chunked bodies (no Content-Length)
    are read from the server's terminated input stream.
    """
    keep = settings.HUB_REJECTED_BODY_BYTES
    raw_length = request.META.get("CONTENT_LENGTH")
    if raw_length:
        try:
            length = int(raw_length)
        except ValueError:
            raise BadContentLength(raw_length) from None
        if length < 0:
            raise BadContentLength(raw_length)
        if length > limit:
            raise BodyTooLarge(request.read(min(length, keep)), length)
        return request.read(length)
    if request.META.get("wsgi.input_terminated") or isinstance(request, ASGIRequest):
        # Chunked: the server ends the stream (under ASGI the whole body was read already).
        body = request.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(body[:keep], None)
        return body
    return b""


def header_dict(headers) -> dict[str, str]:
    """``request.headers`` (Django's names: ``X-Github-Event``) as a plain dict, credentials
    masked and every value made storable (clean_text)."""
    return {
        name: MASKED if name.lower() in SENSITIVE_HEADERS else clean_text(value)
        for name, value in headers.items()
    }


KEY_WORDS = ("signature", "hmac", "delivery", "event", "topic", "timestamp", "-id", "webhook")
FIRST = ("content-type", "content-length", "user-agent")


def stored_headers(request_headers, keep=()) -> tuple[dict[str, str], int]:
    headers = header_dict(request_headers)
    limit = settings.HUB_STORED_HEADER_BYTES
    sizes = {
        name: len(name) + len(value.encode("utf-8", "replace")) for name, value in headers.items()
    }
    if sum(sizes.values()) <= limit:
        return headers, 0
    wanted = {k.lower() for k in keep if k}

    def rank(name: str):
        low = name.lower()
        key = low in FIRST or low in wanted or any(word in low for word in KEY_WORDS)
        return (0 if key else 1, low)

    kept, used = {}, 0
    for name in sorted(headers, key=rank):
        if used + sizes[name] <= limit:
            kept[name], used = headers[name], used + sizes[name]
        elif not kept:  # even the first header is too large: keep its start
            room = max(0, limit - len(name))
            kept[name] = headers[name].encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
            used = len(name) + len(kept[name].encode())
    return kept, sum(sizes.values()) - used


def remote_addr(meta) -> str | None:
    """The sender's address: X-Forwarded-For's first hop when HUB_USE_X_FORWARDED_FOR and it is
    an IP address (anything else would fail the INSERT), else the peer's address."""
    if settings.HUB_USE_X_FORWARDED_FOR and meta.get("HTTP_X_FORWARDED_FOR"):
        forwarded = _address(meta["HTTP_X_FORWARDED_FOR"].split(",")[0].strip())
        if forwarded:
            return forwarded
    return _address(meta.get("REMOTE_ADDR") or "")


@lru_cache(maxsize=1024)
def _address(value: str) -> str | None:
    """``value`` as an IP address's canonical text, or None (cached: senders repeat)."""
    try:
        return str(ipaddress.ip_address(value)) if "%" not in value else None
    except ValueError:
        return None
