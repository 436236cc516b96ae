"""Shopify's Admin API: access token in X-Shopify-Access-Token; the base URL is per shop
(set it on the connection: https://<shop>.myshopify.com/admin/api/<version>)."""

from connections.specs import ProviderSpec

SPEC = ProviderSpec(
    key="shopify",
    name="Shopify",
    base_url="https://example.myshopify.com/admin/api/2025-01",
    auth_scheme="api_key",
    api_key_header="X-Shopify-Access-Token",
    rate_limit="2/s",
    health_check=("GET", "/shop.json"),
)
