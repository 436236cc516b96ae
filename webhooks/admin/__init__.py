"""Django admin of the inbound side (one module per model family)."""

from . import deliveries, sources

__all__ = ["deliveries", "sources"]
