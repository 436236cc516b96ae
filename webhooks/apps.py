from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """The inbound side: sources, signature schemes, receivers, the delivery log, processing."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
