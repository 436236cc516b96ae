"""Stripe: Stripe events and the Stripe API."""

from core.catalog import Provider

from .api import SPEC
from .handlers import HANDLERS, IGNORED
from .receiver import StripeReceiver

PROVIDER = Provider(
    key="stripe",
    label="Stripe",
    receiver=StripeReceiver(),
    handlers=HANDLERS,
    ignored=IGNORED,
    api=SPEC,
)
