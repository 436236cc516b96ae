"""Shopify: the signature contract (the published vector checks the signer: tests/test_vectors)."""

from tests.contract import SignatureContract

from . import sign


class TestShopify(SignatureContract):
    provider = "shopify"
    make = staticmethod(sign.make)
    signature_header = "X-Shopify-Hmac-Sha256"
    malformed_values = ("not base64!", "@@@@", "abc")
