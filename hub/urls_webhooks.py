"""The URLconf of ``/webhooks/`` requests (hub/asgi.py and hub/wsgi.py set it on each): only
the receiving endpoint's patterns, so resolving a delivery's URL does not walk the whole site's
(51 of a request's ~800 Python calls were URL resolving). ``hub.urls`` includes the same
patterns, so ``reverse()`` and every other request see them as before."""

from django.urls import include, path

urlpatterns = [path("webhooks/", include("webhooks.urls"))]
