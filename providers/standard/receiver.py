"""Standard Webhooks (Svix and others): ``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64>``; secret ``whsec_<base64 key>``; event ``type`` in the body."""

import base64
import secrets

from django.core.exceptions import ValidationError

from webhooks.receiving import Receiver
from webhooks.signatures import StandardWebhooksSignature, standard_webhooks_key


class StandardReceiver(Receiver):
    provider = "standard"
    label = "Standard Webhooks"
    signature = StandardWebhooksSignature()
    id_header = ("webhook-id",)

    def generate_secret(self) -> str:
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()

    def validate_secret(self, secret: str) -> None:
        try:
            key = standard_webhooks_key(secret)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if len(key) < 16:
            raise ValidationError("A Standard Webhooks key must decode to at least 16 bytes.")
