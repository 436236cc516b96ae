"""Shopify: base64 ``X-Shopify-Hmac-Sha256``; topic and webhook id in headers (also the
unprefixed ``shopify-*`` names of Shopify's newer event deliveries)."""

from webhooks.receiving import Receiver
from webhooks.signatures import HmacHeader


class ShopifyReceiver(Receiver):
    provider = "shopify"
    label = "Shopify"
    signature = HmacHeader(
        headers=("X-Shopify-Hmac-Sha256", "shopify-hmac-sha256"), encoding="base64"
    )
    id_header = ("X-Shopify-Webhook-Id", "shopify-webhook-id")

    def event_type(self, payload, headers, source) -> str:
        return headers.get("X-Shopify-Topic") or headers.get("shopify-topic") or ""
