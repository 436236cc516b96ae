from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What the inbound and outbound sides share; depends on no other app of the hub."""

    name = "core"
    label = "core"
    verbose_name = "Core"
