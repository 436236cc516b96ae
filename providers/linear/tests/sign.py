"""Signing a Linear delivery as Linear's docs publish it: ``Linear-Signature`` is the hex
HMAC-SHA256 of the raw body (what ``LinearWebhookClient.verify`` of ``@linear/sdk`` checks);
the body carries ``webhookTimestamp`` in milliseconds."""

import hashlib
import hmac
import json
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(name="Issue.create.json", timestamp=None) -> bytes:
    """A fixture with its ``webhookTimestamp`` set to ``timestamp`` (default now), as sent."""
    event = json.loads((FIXTURES / name).read_bytes())
    event["webhookTimestamp"] = int((timestamp or time.time()) * 1000)
    return json.dumps(event, indent=2).encode()


def make(secret, delivery_id, body=None, timestamp=None):
    body = body if body is not None else payload(timestamp=timestamp)
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # the fuzz tests sign any bytes
        event = {}
    return body, {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Linear-Webhook",
        "Linear-Delivery": delivery_id,
        "Linear-Event": str(event.get("type", "Issue")) if isinstance(event, dict) else "Issue",
        "Linear-Signature": signature(secret, body),
    }
