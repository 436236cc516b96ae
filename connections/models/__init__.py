"""Models of the outbound side."""

from .calls import CallRecord, CallRollup
from .connection import Connection, ProviderOverride

__all__ = ["CallRecord", "CallRollup", "Connection", "ProviderOverride"]
