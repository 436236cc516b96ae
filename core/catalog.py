"""The provider catalog: every provider the hub knows, filled once at start-up.

The inbound side (``webhooks``) and the outbound side (``connections``) look providers up here by
key; they never import a provider's folder. Only the ``providers`` app fills the catalog, from
its explicit list (``providers/registry.py``), in ``ProvidersConfig.ready()``; so the arrows run
one way: ``providers -> webhooks, connections -> core``.

A ``Provider`` carries up to two faces: ``receiver`` (how its webhooks are signed and read, a
``webhooks.receiving.Receiver``) with its dispatch table (``handlers``, ``ignored``), and
``api`` (its REST API, a ``connections.specs.ProviderSpec``). Either may be None.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

KEY_GRAMMAR = r"[a-z][a-z0-9_]{1,29}"


@dataclass(frozen=True)
class Provider:
    key: str
    """Stored on Source and Connection rows; lowercase letters, digits and '_'."""
    label: str
    receiver: Any = None
    handlers: Mapping[str, Callable] = field(default_factory=dict)
    """Built-in dispatch table: event type (or its family before the first dot) -> handler."""
    ignored: frozenset[str] = frozenset()
    """Event types recorded as ignored on purpose (no handler wanted)."""
    api: Any = None


_providers: dict[str, Provider] = {}


def install(providers) -> None:
    """Fill the catalog (the providers app, once); duplicate or malformed keys fail start-up."""
    found: dict[str, Provider] = {}
    for provider in providers:
        if not re.fullmatch(KEY_GRAMMAR, provider.key):
            raise ImproperlyConfigured(f"Provider key {provider.key!r} is not {KEY_GRAMMAR}.")
        if provider.key in found:
            raise ImproperlyConfigured(f"Provider {provider.key!r} is registered twice.")
        if provider.receiver is not None and provider.receiver.provider != provider.key:
            raise ImproperlyConfigured(
                f"{provider.key}: its receiver says {provider.receiver.provider!r}."
            )
        if provider.api is not None and provider.api.key != provider.key:
            raise ImproperlyConfigured(
                f"{provider.key}: its API descriptor says {provider.api.key!r}."
            )
        found[provider.key] = provider
    _providers.clear()
    _providers.update(found)


def all_providers() -> tuple[Provider, ...]:
    return tuple(_providers.values())


def get(key: str) -> Provider:
    """The provider ``key``; KeyError for an unknown key."""
    return _providers[key]


def receivers() -> dict:
    """key -> receiver, for providers that receive webhooks (in registry order)."""
    return {p.key: p.receiver for p in _providers.values() if p.receiver is not None}


def apis() -> dict:
    """key -> API descriptor, for providers the hub calls (in registry order)."""
    return {p.key: p.api for p in _providers.values() if p.api is not None}


def receiver_choices() -> list[tuple[str, str]]:
    """Choices of ``Source.provider`` (a callable: adding a provider needs no migration)."""
    return [(p.key, p.label) for p in _providers.values() if p.receiver is not None]


def api_choices() -> list[tuple[str, str]]:
    """Choices of ``Connection.provider`` and ``ProviderOverride.provider``."""
    return [(p.key, p.api.name) for p in _providers.values() if p.api is not None]
