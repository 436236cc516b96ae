from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    """The outbound side; for now it owns the key set that encrypts every secret at rest."""

    name = "connections"
    default_auto_field = "django.db.models.BigAutoField"
