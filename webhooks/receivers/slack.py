"""Slack: ``X-Slack-Signature: v0=`` over ``v0:<ts>:<body>`` (±300 s).

Events API bodies are JSON (``event_callback`` with ``event_id``; ``url_verification`` answered
with its challenge). Slash commands and interactivity are form-encoded and are accepted too.
"""

from urllib.parse import parse_qs

from ..bodies import loads
from ..signatures import SlackSignature
from .base import PayloadError, Receiver, _get


class SlackReceiver(Receiver):
    provider = "slack"
    label = "Slack"
    signature = SlackSignature()
    handlers = {
        "event_callback.tokens_revoked": "webhooks.handlers.lifecycle.access_revoked",
        "event_callback.app_uninstalled": "webhooks.handlers.lifecycle.access_revoked",
    }
    ignored_events = frozenset({"url_verification"})

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
        kind = _get(payload, "type")
        if kind == "event_callback":
            return f"event_callback.{_get(_get(payload, 'event'), 'type') or ''}".rstrip(".")
        if _get(payload, "command"):
            return "slash_command"
        interactive = _get(payload, "payload")
        if interactive:
            return f"interactive.{_get(interactive, 'type') or ''}".rstrip(".")
        return str(kind or "")

    def external_id(self, payload, headers, source):
        # event_id for the Events API; trigger_id is unique per slash command / interaction.
        value = _get(payload, "event_id") or _get(payload, "trigger_id")
        return str(value)[:255] if value else None

    def handshake(self, payload, headers):
        if _get(payload, "type") == "url_verification":
            return {"challenge": _get(payload, "challenge")}
        return None
