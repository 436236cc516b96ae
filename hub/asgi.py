"""ASGI entry point: the hub's web server (``gunicorn hub.asgi -k hub.server.UvicornWorker``;
the Procfile and the README's production recipe).

Served by uvicorn, a request's body is read by the event loop before any view runs, so a client
that sends its body slowly, or never, holds a coroutine and a socket, not one of the threads that
answer providers (two slow clients used to stall both gunicorn sync workers). Bodies are read up
to ``HUB_REQUEST_BODY_CEILING`` at most; a larger one is answered 413 without reading the rest.

``/webhooks/`` requests take a short path (``WebhookHandler``): the whole body is read in the
event loop, then one hop to a worker thread runs the request through a handler without the
site's middleware (as hub/wsgi.py does: a provider's delivery needs no session, CSRF check,
authentication, messages or static files) and the answer is sent back. Django's own ASGI path
costs three thread hops per request (two signals and the view) on one thread per process; this
one costs one, on a small pool of threads of its own (``ThreadPool``: asgiref's
``sync_to_async`` copied and restored the request's context around it, and an executor's
futures cost more than the hop), so database waits of concurrent deliveries overlap. The
request resolves against ``hub.urls_webhooks``, the receiving endpoint's patterns alone.
"""

import asyncio
import contextlib
import os
import queue
import tempfile
import threading

from django.conf import settings
from django.core import signals
from django.core.asgi import get_asgi_application
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix

from hub.preload import preload

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
get_asgi_application()  # django.setup()
preload()

WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_URLCONF = "hub.urls_webhooks"
TOO_LARGE = b'{"status": "rejected", "error": "body_too_large", "detail": "The body is too large."}'


class BodyOverCeiling(Exception):
    pass


class ThreadPool:
    """``await pool.run(fn, *args)``: ``fn(*args)`` on one of ``size`` threads, its result (or
    exception) delivered to the awaiting coroutine.

    What ``loop.run_in_executor`` does, minus concurrent.futures' Future (a Condition per
    call) and the callbacks that copy its state into an asyncio future: the thread resolves the
    asyncio future itself, through ``call_soon_threadsafe``. Threads start on first use in a
    process (gunicorn forks workers) and are daemons: a worker that exits takes them along.
    """

    def __init__(self, size: int, name: str):
        self.size, self.name = size, name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = None

    async def run(self, fn, *args):
        if self._pid != os.getpid():
            self._start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((future, loop, fn, args))
        return await future

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()  # a forked child's own
            for n in range(self.size):
                threading.Thread(target=self._work, name=f"{self.name}_{n}", daemon=True).start()
            self._pid = os.getpid()

    def _work(self) -> None:
        get = self._queue.get
        while True:
            future, loop, fn, args = get()
            try:
                outcome, value = _resolve, fn(*args)
            except BaseException as exc:  # handed to the coroutine, which raises it
                outcome, value = _reject, exc
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile (shutdown)
                loop.call_soon_threadsafe(outcome, future, value)
            del future, value  # nothing held between requests


def _resolve(future, result) -> None:
    if not future.done():  # its coroutine may have been cancelled meanwhile
        future.set_result(result)


def _reject(future, exc) -> None:
    if not future.done():
        future.set_exception(exc)


POOL = ThreadPool(settings.HUB_WEBHOOK_THREADS, "hub-webhook")


class SiteHandler(ASGIHandler):
    """Django's ASGIHandler with a ceiling on how much of a body is read."""

    async def read_body(self, receive):
        ceiling = settings.HUB_REQUEST_BODY_CEILING
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (returned open, as Django's)
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > ceiling:
                body_file.close()
                raise BodyOverCeiling()
            body_file.write(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _declared_size(scope) > settings.HUB_REQUEST_BODY_CEILING:
            return await _send_too_large(send)
        try:
            await self.serve(scope, receive, send)
        except BodyOverCeiling:
            await _send_too_large(send)

    async def serve(self, scope, receive, send):
        """The request once its declared size is under the ceiling: Django's handling."""
        await super().__call__(scope, receive, send)


class WebhookHandler(SiteHandler):
    """The receiving endpoint's short path (see the module docstring)."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request):
        request.urlconf = WEBHOOK_URLCONF
        return super().get_response(request)

    async def serve(self, scope, receive, send):
        """Django's handling minus asgiref's ThreadSensitiveContext that it opens around every
        request: it serves ``sync_to_async(thread_sensitive=True)``, which this path never
        calls (``application`` sends only HTTP requests here)."""
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        response = await POOL.run(self._respond, scope, body_file)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in response.items()
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.content})

    def _respond(self, scope, body_file):
        """In a worker thread: the request through the sync handler, with the signals that
        manage its database connection (request_started, request_finished via close())."""
        set_script_prefix("")
        signals.request_started.send(sender=self.__class__, scope=scope)
        try:
            request, error = self.create_request(scope, body_file)
            response = error if request is None else self.get_response(request)
            response.content  # noqa: B018 (rendered here, in this thread)
            return response
        finally:
            body_file.close()
            signals.request_finished.send(sender=self.__class__)


def _declared_size(scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _send_too_large(send):
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE})


site, webhooks = SiteHandler(), WebhookHandler()


async def application(scope, receive, send):
    if scope["type"] == "lifespan":  # nothing to set up or tear down
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    is_webhook = scope["type"] == "http" and scope.get("path", "").startswith(WEBHOOK_PREFIX)
    await (webhooks if is_webhook else site)(scope, receive, send)
