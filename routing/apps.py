from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Routing verified events onward: destinations, routes, forwards (see docs/architecture.md).
    Depends on webhooks, connections and core; only hub depends on it."""

    name = "routing"
    verbose_name = "Routing"

    def ready(self):
        from . import signals

        signals.connect()
