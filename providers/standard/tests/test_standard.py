"""Standard Webhooks: the signature contract, signed with the `standardwebhooks` package."""

from tests.contract import TimestampedContract

from . import sign


class TestStandardWebhooks(TimestampedContract):
    provider = "standard"
    make = staticmethod(sign.make)
    signature_header = "webhook-signature"
    malformed_values = ("garbage", "v1,not base64!", "v1", "v2,abcd")
