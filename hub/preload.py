"""What a web process imports before it serves: ``preload()``, called by hub/asgi.py and
hub/wsgi.py once Django is set up, in the main thread.

Requests import much lazily: the URLconf with every view, the cache backend, the publisher's
Redis client. Under uvicorn several threads do that at once (request threads, the ingest writer,
the publisher), and two threads importing ``redis`` together once raised ``ImportError: cannot
import name 'AbstractConnection' from partially initialized module 'redis.connection'`` (its
modules import each other; CPython's import locks break the cycle by handing one thread a
module half run). Imported here first, every later import finds them whole.

Then ``gc.freeze()``: everything loaded so far (Django, the apps, the URLconf: about as long-lived
as the process) moves to the collector's permanent generation, which its full collections skip.
A full collection of a web process walked all of it while every thread waited: 110-115 ms, the
benchmark's p99; frozen, 10-30 ms. Objects created later are collected as before.
"""

import gc


def preload() -> None:
    import redis  # noqa: F401 (the publisher's queue probe, django-redis)
    from django.core.cache import caches
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (loads the URLconf: every view and what it imports)
    caches["default"]  # the cache backend's module and its client's
    gc.freeze()
