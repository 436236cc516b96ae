"""Reading what a webhook request carries: the raw body (bounded), headers, sender address."""

from django.conf import settings

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
    if request.META.get("wsgi.input_terminated"):
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(body[:keep], None)
        return body
    return b""


def header_dict(meta) -> dict[str, str]:
    """Request headers as ``{"X-Name": value}``, credentials masked."""
    headers = {}
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key
        else:
            continue
        name = "-".join(part.capitalize() for part in name.split("_"))
        headers[name] = MASKED if name.lower() in SENSITIVE_HEADERS else value
    return headers


def remote_addr(meta) -> str | None:
    if settings.HUB_USE_X_FORWARDED_FOR and meta.get("HTTP_X_FORWARDED_FOR"):
        return meta["HTTP_X_FORWARDED_FOR"].split(",")[0].strip() or None
    return meta.get("REMOTE_ADDR") or None
