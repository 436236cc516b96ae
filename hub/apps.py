from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Integration Hub"

    def ready(self):
        from allauth.account.signals import user_signed_up

        from .roles import add_to_end_users

        user_signed_up.connect(add_to_end_users, dispatch_uid="hub.roles.end_users")
