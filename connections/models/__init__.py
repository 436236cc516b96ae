"""Models of the outbound side."""

from .calls import CallRecord, CallRollup
from .connection import Connection, ProviderOverride
from .linked import AccountToken

__all__ = ["AccountToken", "CallRecord", "CallRollup", "Connection", "ProviderOverride"]
