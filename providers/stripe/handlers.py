"""Stripe's handlers: a deauthorized account needs attention on its connection."""

from webhooks.lifecycle import access_revoked

HANDLERS = {"account.application.deauthorized": access_revoked}
IGNORED = frozenset()
