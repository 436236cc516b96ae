"""Standard Webhooks: Standard Webhooks senders (Svix and others); no API of its own."""

from core.catalog import Provider

from .receiver import StandardReceiver

PROVIDER = Provider(
    key="standard",
    label="Standard Webhooks",
    receiver=StandardReceiver(),
)
