"""Signing a Stripe delivery with the official ``stripe`` package."""

import json
import time
from pathlib import Path

import stripe

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def make(secret, delivery_id, body=None, timestamp=None):
    if body is None:
        event = json.loads((FIXTURES / "payment_intent.created.openapi-fixture.json").read_bytes())
        event["id"] = delivery_id
        body = json.dumps(event, indent=2).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp or int(time.time())
    )
    return body, {"Content-Type": "application/json", "Stripe-Signature": header}
