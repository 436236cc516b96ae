"""The receiver registry, built once from an explicit list (no discovery)."""

from .base import PayloadError, Receiver
from .generic import GenericReceiver
from .github import GitHubReceiver
from .shopify import ShopifyReceiver
from .slack import SlackReceiver
from .standard import StandardReceiver
from .stripe import StripeReceiver

RECEIVERS: dict[str, Receiver] = {
    r.provider: r
    for r in (
        GitHubReceiver(),
        StripeReceiver(),
        SlackReceiver(),
        ShopifyReceiver(),
        StandardReceiver(),
        GenericReceiver(),
    )
}

__all__ = ["RECEIVERS", "PayloadError", "Receiver"]
