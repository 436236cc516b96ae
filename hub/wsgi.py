"""WSGI entry point (gunicorn hub.wsgi).

``/webhooks/`` requests go to a handler without the site's middleware: a provider's delivery
needs no session, CSRF check, authentication, messages or static files, and that stack cost
about a third of the receiving endpoint's CPU (bench/). Everything else gets the full stack.
"""

import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

from hub.preload import preload

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
site = get_wsgi_application()
preload()


class WebhookHandler(WSGIHandler):
    """A WSGIHandler whose middleware chain is empty (what load_middleware builds from [])."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request):
        request.urlconf = WEBHOOK_URLCONF  # the receiving endpoint's patterns alone
        return super().get_response(request)


webhooks = WebhookHandler()
WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_URLCONF = "hub.urls_webhooks"


def application(environ, start_response):
    handler = webhooks if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX) else site
    return handler(environ, start_response)
