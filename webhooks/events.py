"""What a handler receives."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """A verified, parsed delivery as handed to a handler.

    ``type`` is the receiver's event type (``pull_request.opened``, ``invoice.paid``, ...),
    ``delivery_id`` the hub's Delivery pk and ``external_id`` the provider's delivery id.
    """

    provider: str
    type: str
    delivery_id: int
    external_id: str | None
    payload: Any
    source: Any
    connection: Any = None
