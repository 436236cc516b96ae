"""Test senders: each provider's own SDK signs, or the scheme its docs publish (GitHub and
Shopify ship no Python verifier; their published vectors check these signers in test_vectors).

Every ``make_*`` returns ``(body_bytes, headers)`` for one delivery. Header dicts use the HTTP
names; ``as_meta`` turns them into Django test-client keyword arguments.
"""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(path: str) -> bytes:
    """A captured payload, byte-exact (provenance: tests/fixtures/SOURCES.md)."""
    return (FIXTURES / path).read_bytes()


def as_meta(headers: dict) -> dict:
    meta = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        meta[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return meta


def github_signature(secret: str, body: bytes) -> str:
    # Exactly the Python example in GitHub's "Validating webhook deliveries".
    return "sha256=" + hmac.new(secret.encode(), msg=body, digestmod=hashlib.sha256).hexdigest()


def shopify_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def make_github(secret, delivery_id, body=None, event="push", timestamp=None):
    body = body if body is not None else fixture("github/push.with-new-branch.json")
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": github_signature(secret, body),
        "User-Agent": "GitHub-Hookshot/test",
    }


def make_shopify(secret, delivery_id, body=None, topic="orders/create", timestamp=None):
    body = body if body is not None else b'{"id": 820982911946154508, "email": "jon@example.com"}'
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery_id,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
    }


def make_stripe(secret, delivery_id, body=None, timestamp=None):
    if body is None:
        event = json.loads(fixture("stripe/payment_intent.created.openapi-fixture.json"))
        event["id"] = delivery_id
        body = json.dumps(event, indent=2).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp or int(time.time())
    )
    return body, {"Content-Type": "application/json", "Stripe-Signature": header}


def make_slack(secret, delivery_id, body=None, timestamp=None, content_type="application/json"):
    if body is None:
        event = json.loads(fixture("slack/event_callback.app_mention.json"))
        event["event_id"] = delivery_id
        body = json.dumps(event).encode()
    ts = str(timestamp or int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return body, {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def make_standard(secret, delivery_id, body=None, timestamp=None):
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


def make_generic(secret, delivery_id, body=None, timestamp=None):
    """For a source configured as X-Signature / sha256 / hex / 'sha256=' / X-Request-Id."""
    body = body if body is not None else b"plain text, not JSON"
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "text/plain",
        "X-Signature": f"sha256={digest}",
        "X-Request-Id": delivery_id,
        "X-Event": "thing.happened",
    }


GENERIC_CONFIG = {
    "signature_header": "X-Signature",
    "signature_digest": "sha256",
    "signature_encoding": "hex",
    "signature_prefix": "sha256=",
    "id_header": "X-Request-Id",
    "event_header": "X-Event",
}
