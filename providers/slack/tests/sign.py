"""Signing a Slack request with the official ``slack_sdk``."""

import json
import time
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def make(secret, delivery_id, body=None, timestamp=None, content_type="application/json"):
    if body is None:
        event = json.loads((FIXTURES / "event_callback.app_mention.json").read_bytes())
        event["event_id"] = delivery_id
        body = json.dumps(event).encode()
    ts = str(timestamp or int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return body, {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }
