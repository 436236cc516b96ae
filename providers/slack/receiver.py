"""Slack: ``X-Slack-Signature: v0=`` over ``v0:<ts>:<body>`` (±300 s).

Events API bodies are JSON (``event_callback`` with ``event_id``; ``url_verification`` answered
with its challenge). Slash commands and interactivity are form-encoded and are accepted too.
"""

from urllib.parse import parse_qs

from webhooks.bodies import loads
from webhooks.receiving import PayloadError, Receiver, field
from webhooks.signatures import SlackSignature


class SlackReceiver(Receiver):
    provider = "slack"
    label = "Slack"
    signature = SlackSignature()

    def parse(self, body, headers):
        content_type = headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/x-www-form-urlencoded"):
                form = {k: v[-1] for k, v in parse_qs(body.decode(), strict_parsing=True).items()}
                if "payload" in form:  # interactivity: a JSON document in a form field
                    form["payload"] = loads(form["payload"])
                return form
            return loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"The body is neither Slack JSON nor a form: {exc}") from None

    def event_type(self, payload, headers, source) -> str:
        kind = field(payload, "type")
        if kind == "event_callback":
            return f"event_callback.{field(field(payload, 'event'), 'type') or ''}".rstrip(".")
        if field(payload, "command"):
            return "slash_command"
        interactive = field(payload, "payload")
        if interactive:
            return f"interactive.{field(interactive, 'type') or ''}".rstrip(".")
        return str(kind or "")

    def external_id(self, payload, headers, source):
        # event_id for the Events API; trigger_id is unique per slash command / interaction.
        value = field(payload, "event_id") or field(payload, "trigger_id")
        return str(value)[:255] if value else None

    def handshake(self, payload, headers):
        if field(payload, "type") == "url_verification":
            return {"challenge": field(payload, "challenge")}
        return None
