"""The hub's settings plus a trivial handler, for the processing benchmark's worker."""

from hub.settings import *  # noqa: F403

HUB_WEBHOOK_HANDLERS = {"generic": {"bench.noop": "bench.handlers.noop"}}
