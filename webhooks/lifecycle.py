"""Stripe and Slack lifecycle events: the account behind a source revoked our access."""

import logging

from .events import Event

logger = logging.getLogger(__name__)


def access_revoked(event: Event) -> None:
    """Slack ``tokens_revoked``/``app_uninstalled``, Stripe ``account.application.deauthorized``:
    the source's connection (if linked) needs attention; the source keeps receiving."""
    connection = event.connection
    if connection is None:
        logger.warning(
            "webhooks.lifecycle.access_revoked.no_connection",
            extra={"delivery_id": event.delivery_id, "source_id": str(event.source.pk)},
        )
        return
    connection.mark_needs_attention(f"{event.provider} {event.type} (delivery {event.delivery_id})")
