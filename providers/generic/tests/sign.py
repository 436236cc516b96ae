"""Signing a generic HMAC delivery for a source configured as ``CONFIG`` says."""

import hashlib
import hmac

CONFIG = {
    "signature_header": "X-Signature",
    "signature_digest": "sha256",
    "signature_encoding": "hex",
    "signature_prefix": "sha256=",
    "id_header": "X-Request-Id",
    "event_header": "X-Event",
}


def make(secret, delivery_id, body=None, timestamp=None):
    """For a source configured as X-Signature / sha256 / hex / 'sha256=' / X-Request-Id."""
    body = body if body is not None else b"plain text, not JSON"
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "text/plain",
        "X-Signature": f"sha256={digest}",
        "X-Request-Id": delivery_id,
        "X-Event": "thing.happened",
    }
