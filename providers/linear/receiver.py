"""Linear: ``Linear-Signature`` is the hex HMAC-SHA256 of the raw body; ``Linear-Delivery`` is
the delivery id, ``Linear-Event`` the entity type (``Issue``); the body's ``action`` completes
the event type (``Issue.create``). Linear signs no header timestamp: the signed body's
``webhookTimestamp`` (milliseconds since the epoch) must be within 60 s of now, checked only
after the signature, so only authentic requests learn about clock skew."""

from webhooks.bodies import loads
from webhooks.receiving import Receiver, field
from webhooks.signatures import HmacHeader, SignatureError, check_tolerance

TOLERANCE_SECONDS = 60


class LinearSignature(HmacHeader):
    def verify(self, secrets, body, headers, now) -> None:
        super().verify(secrets, body, headers, now)
        try:
            sent_ms = field(loads(body), "webhookTimestamp")
        except (ValueError, UnicodeDecodeError):
            sent_ms = None
        if isinstance(sent_ms, bool) or not isinstance(sent_ms, int):
            raise SignatureError(
                "malformed_signature",
                "The signed body has no numeric webhookTimestamp (milliseconds since the epoch).",
            )
        check_tolerance(sent_ms // 1000, now, TOLERANCE_SECONDS)


class LinearReceiver(Receiver):
    provider = "linear"
    label = "Linear"
    signature = LinearSignature(headers=("Linear-Signature",))
    id_header = ("Linear-Delivery",)

    def event_type(self, payload, headers, source) -> str:
        kind = headers.get("Linear-Event") or field(payload, "type") or ""
        action = field(payload, "action")
        return f"{kind}.{action}" if isinstance(action, str) and action else str(kind)
