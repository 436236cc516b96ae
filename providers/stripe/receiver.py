"""Stripe: ``Stripe-Signature: t=,v1=`` (300 s tolerance); event ``type`` and ``id`` in the body."""

from webhooks.receiving import Receiver, field
from webhooks.signatures import StripeSignature


class StripeReceiver(Receiver):
    provider = "stripe"
    label = "Stripe"
    signature = StripeSignature()

    def generate_secret(self) -> str:
        return "whsec_" + super().generate_secret()

    def external_id(self, payload, headers, source):
        value = field(payload, "id")
        return str(value)[:255] if value else None
