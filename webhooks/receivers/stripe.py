"""Stripe: ``Stripe-Signature: t=,v1=`` (300 s tolerance); event ``type`` and ``id`` in the body."""

from ..signatures import StripeSignature
from .base import Receiver, _get


class StripeReceiver(Receiver):
    provider = "stripe"
    label = "Stripe"
    signature = StripeSignature()
    handlers = {"account.application.deauthorized": "webhooks.handlers.lifecycle.access_revoked"}

    def generate_secret(self) -> str:
        return "whsec_" + super().generate_secret()

    def external_id(self, payload, headers, source):
        value = _get(payload, "id")
        return str(value)[:255] if value else None
