"""django-allauth glue: keep OAuth secrets encrypted and capture linked accounts' tokens.

- ``SocialAccountAdapter.get_app`` hands allauth the GitHub app with its client secret
  decrypted; the SocialApp row stores it encrypted (see connections.admin).
- The signals below copy each login's tokens into ``AccountToken`` (connections.tokens.capture).
"""

from allauth.account.signals import user_signed_up
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.dispatch import receiver
from django.urls import reverse

from core import crypto

from . import tokens


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_connect_redirect_url(self, request, socialaccount):
        return reverse("linked-accounts")

    def get_app(self, request, provider, client_id=None):
        app = super().get_app(request, provider, client_id=client_id)
        if app.secret.startswith("gAAAA"):  # a Fernet token: stored by the hub's admin
            app.secret = crypto.decrypt(app.secret)
        return app


@receiver(social_account_added)
@receiver(social_account_updated)
def _capture_linked(sender, request, sociallogin, **kwargs):
    tokens.capture(sociallogin)


@receiver(user_signed_up)
def _capture_signup(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None:
        tokens.capture(sociallogin)
