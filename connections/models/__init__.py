"""Models of the outbound side."""

from .calls import CallErrorGroup, CallRecord, CallRollup
from .connection import Connection, ProviderOverride
from .linked import AccountToken

__all__ = [
    "AccountToken",
    "CallErrorGroup",
    "CallRecord",
    "CallRollup",
    "Connection",
    "ProviderOverride",
]
