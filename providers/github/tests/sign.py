"""Signing a GitHub delivery as GitHub does (GitHub ships no Python verifier; the published
vector checks ``signature`` in tests/test_vectors.py)."""

import hashlib
import hmac
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def signature(secret: str, body: bytes) -> str:
    # Exactly the Python example in GitHub's "Validating webhook deliveries".
    return "sha256=" + hmac.new(secret.encode(), msg=body, digestmod=hashlib.sha256).hexdigest()


def make(secret, delivery_id, body=None, event="push", timestamp=None):
    body = body if body is not None else (FIXTURES / "push.with-new-branch.json").read_bytes()
    return body, {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": signature(secret, body),
        "User-Agent": "GitHub-Hookshot/test",
    }
