from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    """The provider folders. Listed before ``webhooks`` and ``connections`` in INSTALLED_APPS, so
    the catalog is filled before their ``ready()`` checks the dispatch tables."""

    name = "providers"
    verbose_name = "Providers"

    def ready(self):
        from core import catalog

        from .registry import PROVIDERS

        catalog.install(PROVIDERS)
