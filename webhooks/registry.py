"""Dispatch tables: event type -> handler, per provider, built once at start-up.

Each provider's folder declares its built-in ``HANDLERS`` (functions) and ``IGNORED`` events
(``providers/<key>/handlers.py``, read here through ``core.catalog``); settings
``HUB_WEBHOOK_HANDLERS`` and ``HUB_WEBHOOK_IGNORED_EVENTS`` add to or override them.
``check()`` runs in ``WebhooksConfig.ready()`` so a bad path fails at start-up, not at the
first delivery. An event type matches exactly, else by its part before the first dot.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from core import catalog


@dataclass(frozen=True)
class DispatchTable:
    handlers: Mapping[str, Callable]
    ignored: frozenset[str]

    def resolve(self, event_type: str) -> tuple[Callable | None, str]:
        """The handler for ``event_type``, or None with the reason it is ignored."""
        family = event_type.split(".", 1)[0]
        for key in (event_type, family):
            if key in self.handlers:
                return self.handlers[key], ""
        if event_type in self.ignored or family in self.ignored:
            return None, "ignored on purpose (in the ignored events list)"
        return None, "no handler registered for this event type"


@cache
def table(provider: str) -> DispatchTable:
    built_in = catalog.get(provider)
    paths = {**built_in.handlers, **settings.HUB_WEBHOOK_HANDLERS.get(provider, {})}
    handlers = {}
    for event_type, path in paths.items():
        try:
            handlers[event_type] = import_string(path) if isinstance(path, str) else path
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"Webhook handler {path!r} for {provider} {event_type!r} cannot be imported: {exc}"
            ) from exc
    ignored = set(built_in.ignored) | set(settings.HUB_WEBHOOK_IGNORED_EVENTS.get(provider, ()))
    return DispatchTable(handlers=handlers, ignored=frozenset(ignored - set(handlers)))


def path(handler: Callable) -> str:
    """A handler's dotted path: how a routing destination of kind "handler" names it."""
    return f"{handler.__module__}.{handler.__qualname__}"


def handlers() -> dict[str, Callable]:
    """Every registered handler (built-in and from settings), by its dotted path: what a
    routing destination of kind "handler" may name."""
    found = {}
    for provider in catalog.receivers():
        for handler in table(provider).handlers.values():
            found[path(handler)] = handler
    return dict(sorted(found.items()))


def handler_choices() -> list[tuple[str, str]]:
    return [(path, path) for path in handlers()]


def check() -> None:
    known = catalog.receivers()
    unknown = (set(settings.HUB_WEBHOOK_HANDLERS) | set(settings.HUB_WEBHOOK_IGNORED_EVENTS)) - set(
        known
    )
    if unknown:
        raise ImproperlyConfigured(
            f"HUB_WEBHOOK_HANDLERS/IGNORED_EVENTS name unknown providers: {sorted(unknown)}; "
            f"known: {sorted(known)}"
        )
    for provider in known:
        table(provider)


def _reset(setting, **kwargs):
    if setting in ("HUB_WEBHOOK_HANDLERS", "HUB_WEBHOOK_IGNORED_EVENTS"):
        table.cache_clear()


setting_changed.connect(_reset)
