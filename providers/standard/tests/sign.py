"""Signing a Standard Webhooks delivery with the official ``standardwebhooks`` package."""

import time
from datetime import UTC, datetime

import standardwebhooks


def make(secret, delivery_id, body=None, timestamp=None):
    body = body if body is not None else b'{"type": "invoice.paid", "data": {"id": "in_1"}}'
    ts = timestamp or int(time.time())
    signature = standardwebhooks.Webhook(secret).sign(
        delivery_id, datetime.fromtimestamp(ts, tz=UTC), body.decode()
    )
    return body, {
        "Content-Type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature,
    }
