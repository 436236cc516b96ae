"""The providers' published test vectors verify through the hub's schemes, and the test
signers reproduce them (so the signers used elsewhere are the providers' schemes)."""

import json

import pytest

from core import catalog
from webhooks.signatures import SignatureError

from . import signers

VECTORS = json.loads((signers.FIXTURES / "signature-vectors.json").read_text())


def verify(provider, secret, body, headers, now):
    catalog.get(provider).receiver.signature.verify([secret], body, headers, now)


def test_github_docs_vector():
    v = VECTORS["github"][0]
    expected = v["expected"]["X-Hub-Signature-256"]
    assert signers.github_signature(v["secret"], v["body"].encode()) == expected
    verify("github", v["secret"], v["body"].encode(), {"X-Hub-Signature-256": expected}, 0)


def test_shopify_library_vector():
    v = VECTORS["shopify"][0]
    expected = v["expected"]["X-Shopify-Hmac-Sha256"]
    assert signers.shopify_signature(v["secret"], v["body"].encode()) == expected
    verify("shopify", v["secret"], v["body"].encode(), {"X-Shopify-Hmac-Sha256": expected}, 0)


def test_slack_docs_vector():
    v = VECTORS["slack"][0]
    headers = {
        "X-Slack-Request-Timestamp": v["timestamp"],
        "X-Slack-Signature": v["expected"]["X-Slack-Signature"],
    }
    verify("slack", v["signing_secret"], v["body"].encode(), headers, int(v["timestamp"]) + 10)
    with pytest.raises(SignatureError) as exc:  # the same request five minutes later: a replay
        verify("slack", v["signing_secret"], v["body"].encode(), headers, int(v["timestamp"]) + 400)
    assert exc.value.code == "timestamp_out_of_tolerance"


def test_standard_webhooks_library_vector_and_its_negative():
    v = VECTORS["standardwebhooks"][0]
    headers = dict(v["expected"])
    verify("standard", v["secret"], v["body"].encode(), headers, v["timestamp"])
    headers["webhook-signature"] = v["negative"]["webhook-signature"]
    with pytest.raises(SignatureError) as exc:
        verify("standard", v["secret"], v["body"].encode(), headers, v["timestamp"])
    assert exc.value.code == "invalid_signature"


def test_stripe_vector_computed_with_the_official_package():
    v = VECTORS["stripe"][0]
    header = v["expected"]["Stripe-Signature"]
    verify("stripe", v["secret"], v["body"].encode(), {"Stripe-Signature": header}, v["timestamp"])


def test_standard_webhooks_accepts_any_of_several_signatures():
    v = VECTORS["standardwebhooks"][0]
    headers = dict(v["expected"])
    good = headers["webhook-signature"]
    headers["webhook-signature"] = (
        f"v1a,ignoredEd25519== {v['negative']['webhook-signature']} {good}"
    )
    verify("standard", v["secret"], v["body"].encode(), headers, v["timestamp"])
