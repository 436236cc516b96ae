"""The provider registry, built once from an explicit list."""

from . import generic, github, shopify, slack, stripe
from .base import AUTH_SCHEMES, ProviderSpec

PROVIDERS: dict[str, ProviderSpec] = {
    module.SPEC.key: module.SPEC for module in (github, stripe, slack, shopify, generic)
}

__all__ = ["AUTH_SCHEMES", "PROVIDERS", "ProviderSpec"]
