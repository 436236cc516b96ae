"""Generic HMAC: the signature contract for a source configured as ``sign.CONFIG``."""

from tests.contract import SignatureContract

from . import sign


class TestGenericHmac(SignatureContract):
    provider = "generic"
    make = staticmethod(sign.make)
    signature_header = "X-Signature"
    malformed_values = ("garbage", "sha256=zz", "md5=abcd")

    def big_body(self, size):
        return b"x" * size
