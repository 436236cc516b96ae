from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    """The outbound side: connections, the resilient client, linked accounts' tokens."""

    name = "connections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import allauth_glue  # noqa: F401 (connects the token-capturing signals)
