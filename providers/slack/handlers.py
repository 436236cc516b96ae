"""Slack's handlers: revoked tokens and an uninstalled app need attention on the connection;
``url_verification`` is answered at ingest (the receiver's handshake)."""

from webhooks.lifecycle import access_revoked

HANDLERS = {
    "event_callback.tokens_revoked": access_revoked,
    "event_callback.app_uninstalled": access_revoked,
}
IGNORED = frozenset({"url_verification"})
