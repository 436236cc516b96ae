"""What a handler receives."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """A verified, parsed delivery as handed to a handler.

    ``type`` is the receiver's event type (``pull_request.opened``, ``invoice.paid``, ...),
    ``delivery_id`` the hub's Delivery pk, ``external_id`` the provider's delivery id,
    ``connection`` the source's linked connection (or None) and ``attempt`` this attempt's
    number (1 on the first try).
    """

    provider: str
    type: str
    delivery_id: int
    external_id: str | None
    payload: Any
    source: Any
    connection: Any = None
    attempt: int = 1
