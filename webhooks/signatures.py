"""Signature schemes, exactly as each provider publishes them (research/signature-schemes.md).

Contract of every scheme: ``verify(secrets, body, headers, now)`` returns ``None`` when any of
``secrets`` signed the raw ``body``, and otherwise raises ``SignatureError`` with a stable
``code`` and a ``detail`` the sender can act on. Digests are compared with
``hmac.compare_digest``; a malformed header is a ``SignatureError``, never another exception.
Timestamped schemes accept ``tolerance`` seconds of skew in both directions, checked after the
signature so that only authentic requests learn about clock skew.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
ENCODINGS = ("hex", "base64")
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request is not proven to come from the source's sender (answered 401)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _first_header(headers: Mapping[str, str], names: Sequence[str]) -> tuple[str, str | None]:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return name, value
    return names[0], None


def _require(headers: Mapping[str, str], *names: str) -> str:
    name, value = _first_header(headers, names)
    if value is None or not value.strip():
        raise SignatureError("missing_signature", f"The {name} header is missing.")
    return value.strip()


def _mac(secret: bytes, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(secret, message, DIGESTS[digest]).digest()


def _matches(expected: Sequence[bytes], candidates: Sequence[bytes]) -> bool:
    """Constant-time: every pair is compared, whatever matched before."""
    found = False
    for mac in expected:
        for candidate in candidates:
            found |= hmac.compare_digest(mac, candidate)
    return found


def _decode(value: str, encoding: str, header: str) -> bytes:
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError(
            "malformed_signature", f"The {header} header is not {encoding}-encoded."
        ) from None


def _timestamp(value: str, header: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SignatureError(
            "malformed_signature", f"The {header} header is not a Unix timestamp."
        ) from None


def check_tolerance(timestamp: int, now: float, tolerance: int) -> None:
    if now - timestamp > tolerance:
        raise SignatureError(
            "timestamp_out_of_tolerance",
            f"The signed timestamp is {int(now - timestamp)} s old; at most {tolerance} s is "
            "accepted (replayed request, or the sender's clock is wrong).",
        )
    if timestamp - now > tolerance:
        raise SignatureError(
            "timestamp_out_of_tolerance",
            f"The signed timestamp is {int(timestamp - now)} s in the future; at most "
            f"{tolerance} s of clock skew is accepted.",
        )


def _invalid(header: str) -> SignatureError:
    return SignatureError(
        "invalid_signature",
        f"The {header} signature does not match the body and the source's secret.",
    )


@dataclass(frozen=True)
class HmacHeader:
    """One header holding ``prefix + encode(HMAC(secret, body))``: GitHub, Shopify, generic."""

    headers: tuple[str, ...]
    digest: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""

    def verify(self, secrets, body: bytes, headers, now: float) -> None:
        value = _require(headers, *self.headers)
        if self.prefix and not value.startswith(self.prefix):
            raise SignatureError(
                "malformed_signature",
                f"The {self.headers[0]} header must start with {self.prefix!r}.",
            )
        given = _decode(value[len(self.prefix) :], self.encoding, self.headers[0])
        expected = [_mac(s.encode(), body, self.digest) for s in secrets]
        if not _matches(expected, [given]):
            raise _invalid(self.headers[0])


@dataclass(frozen=True)
class StripeSignature:
    """``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`` over ``"<t>." + body``; key used as-is."""

    header: str = "Stripe-Signature"
    tolerance: int = TOLERANCE_SECONDS

    def verify(self, secrets, body: bytes, headers, now: float) -> None:
        value = _require(headers, self.header)
        timestamp, signatures = None, []
        for item in value.split(","):
            key, sep, val = item.strip().partition("=")
            if not sep:
                raise SignatureError(
                    "malformed_signature", f"The {self.header} header is malformed."
                )
            if key == "t":
                timestamp = _timestamp(val, self.header)
            elif key == "v1":
                signatures.append(_decode(val, "hex", self.header))
        if timestamp is None or not signatures:
            raise SignatureError(
                "malformed_signature", f"The {self.header} header needs t= and at least one v1=."
            )
        message = f"{timestamp}.".encode() + body
        if not _matches([_mac(s.encode(), message) for s in secrets], signatures):
            raise _invalid(self.header)
        check_tolerance(timestamp, now, self.tolerance)


@dataclass(frozen=True)
class SlackSignature:
    """``X-Slack-Signature: v0=<hex>`` over ``"v0:<X-Slack-Request-Timestamp>:" + body``."""

    tolerance: int = TOLERANCE_SECONDS

    def verify(self, secrets, body: bytes, headers, now: float) -> None:
        value = _require(headers, "X-Slack-Signature")
        raw_ts = _require(headers, "X-Slack-Request-Timestamp")
        if not value.startswith("v0="):
            raise SignatureError(
                "malformed_signature", "The X-Slack-Signature header must start with 'v0='."
            )
        given = _decode(value[3:], "hex", "X-Slack-Signature")
        timestamp = _timestamp(raw_ts, "X-Slack-Request-Timestamp")
        message = f"v0:{raw_ts}:".encode() + body
        if not _matches([_mac(s.encode(), message) for s in secrets], [given]):
            raise _invalid("X-Slack-Signature")
        check_tolerance(timestamp, now, self.tolerance)


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after an optional ``whsec_``."""
    try:
        raw = secret.removeprefix("whsec_")
        return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("A Standard Webhooks secret is 'whsec_' followed by base64.") from None


@dataclass(frozen=True)
class StandardWebhooksSignature:
    """``webhook-signature: v1,<b64> [v1,<b64> ...]`` over ``"<webhook-id>.<ts>." + body``."""

    tolerance: int = TOLERANCE_SECONDS

    def verify(self, secrets, body: bytes, headers, now: float) -> None:
        msg_id = _require(headers, "webhook-id")
        raw_ts = _require(headers, "webhook-timestamp")
        value = _require(headers, "webhook-signature")
        signatures = []
        for entry in value.split():
            version, sep, sig = entry.partition(",")
            if not sep:
                raise SignatureError(
                    "malformed_signature",
                    "Each webhook-signature entry must be '<version>,<base64>'.",
                )
            if version == "v1":
                signatures.append(_decode(sig, "base64", "webhook-signature"))
        if not signatures:
            raise SignatureError(
                "malformed_signature", "The webhook-signature header has no v1 entry."
            )
        timestamp = _timestamp(raw_ts, "webhook-timestamp")
        message = f"{msg_id}.{raw_ts}.".encode() + body
        keys = [standard_webhooks_key(s) for s in secrets]
        if not _matches([_mac(k, message) for k in keys], signatures):
            raise _invalid("webhook-signature")
        check_tolerance(timestamp, now, self.tolerance)


@dataclass(frozen=True)
class SecretToken:
    """One header holding the shared secret itself (GitLab's ``X-Gitlab-Token``), compared in
    constant time with each of the source's secrets. It proves the sender knows the secret, not
    that the body is unchanged in transit: such a source relies on HTTPS for that."""

    header: str

    def verify(self, secrets, body: bytes, headers, now: float) -> None:
        given = _require(headers, self.header).encode("utf-8", "replace")
        if not _matches([s.encode() for s in secrets], [given]):
            raise SignatureError(
                "invalid_signature", f"The {self.header} header is not the source's secret token."
            )
