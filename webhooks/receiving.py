"""The receiver base class: what one provider's webhooks look like (``providers/<key>/receiver.py``
subclasses it; its handlers live beside it, in ``handlers.py``).

A receiver is stateless and shared by every request. The ingest service calls, in order:
``scheme(source).verify(...)`` on the raw bytes, then ``parse`` (only after verification),
then ``event_type``, ``external_id`` and ``handshake`` (``source`` is the Source row, read-only).
A provider subclass mostly sets class attributes; it overrides a method only where its
format needs it.
"""

import secrets
from typing import Any, ClassVar

from django.core.exceptions import ValidationError

from .bodies import loads


class PayloadError(Exception):
    """The body is authentic but cannot be read as this provider's format (answered 400)."""


class Receiver:
    provider: ClassVar[str]
    label: ClassVar[str]
    signature: ClassVar[Any] = None
    """The signature scheme (webhooks.signatures); ``scheme()`` may build one per source."""
    event_header: ClassVar[str | None] = None
    id_header: ClassVar[tuple[str, ...]] = ()
    json_body: ClassVar[bool] = True
    """When true, a body that is not JSON is refused with 400 (and kept as a rejected request)."""
    done_at_ingest: ClassVar[frozenset[str]] = frozenset()
    """Event types fully handled by being stored (handshakes such as GitHub's ping)."""

    def scheme(self, source):
        return self.signature

    def generate_secret(self) -> str:
        return secrets.token_urlsafe(32)

    def validate_secret(self, secret: str) -> None:
        if len(secret) < 8:
            raise ValidationError("A signing secret needs at least 8 characters.")

    def parse(self, body: bytes, headers) -> Any:
        if not self.json_body:
            return None
        try:
            return loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"The body is not valid JSON: {exc}") from None

    def event_type(self, payload: Any, headers, source) -> str:
        if self.event_header:
            return headers.get(self.event_header, "")
        return str(field(payload, "type") or "")

    def external_id(self, payload: Any, headers, source) -> str | None:
        for name in self.id_header:
            value = headers.get(name)
            if value:
                return value[:255]
        return None

    def handshake(self, payload: Any, headers) -> dict | None:
        """A JSON answer the provider expects at once instead of ``queued``, or None."""
        return None


def field(payload: Any, key: str) -> Any:
    """``payload[key]`` when the payload is a JSON object, else None."""
    return payload.get(key) if isinstance(payload, dict) else None
