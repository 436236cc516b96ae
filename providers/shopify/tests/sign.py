"""Signing a Shopify delivery (Shopify ships no Python verifier; the published vector checks
``signature`` in tests/test_vectors.py)."""

import base64
import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def make(secret, delivery_id, body=None, topic="orders/create", timestamp=None):
    body = body if body is not None else b'{"id": 820982911946154508, "email": "jon@example.com"}'
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": delivery_id,
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-Hmac-Sha256": signature(secret, body),
    }
