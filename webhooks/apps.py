from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """The inbound side: sources, signature schemes, receivers, the delivery log, processing."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import registry

        registry.check()  # a handler path that does not import fails at start-up
