"""Stripe's API: secret key as bearer token; Idempotency-Key makes POST safe to retry."""

from connections.specs import ProviderSpec

SPEC = ProviderSpec(
    key="stripe",
    name="Stripe",
    base_url="https://api.stripe.com",
    rate_limit="100/s",
    idempotency_header="Idempotency-Key",
    health_check=("GET", "/v1/balance"),
    read_timeout=30.0,
)
