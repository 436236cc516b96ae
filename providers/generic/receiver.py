"""Generic HMAC: header, digest, encoding and prefix come from the source's settings; any body
(JSON or not) is accepted. Optional headers name the event type and the delivery id."""

from webhooks.receiving import Receiver
from webhooks.signatures import HmacHeader


class GenericReceiver(Receiver):
    provider = "generic"
    label = "Generic HMAC"
    json_body = False

    def scheme(self, source):
        return HmacHeader(
            headers=(source.signature_header,),
            digest=source.signature_digest,
            encoding=source.signature_encoding,
            prefix=source.signature_prefix,
        )

    def event_type(self, payload, headers, source) -> str:
        return headers.get(source.event_header, "") if source.event_header else ""

    def external_id(self, payload, headers, source):
        value = headers.get(source.id_header) if source.id_header else None
        return value[:255] if value else None
