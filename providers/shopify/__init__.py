"""Shopify: Shopify webhooks and the Admin API."""

from core.catalog import Provider

from .api import SPEC
from .receiver import ShopifyReceiver

PROVIDER = Provider(
    key="shopify",
    label="Shopify",
    receiver=ShopifyReceiver(),
    api=SPEC,
)
