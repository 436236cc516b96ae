"""Flushing the per-process write buffers (call records, rollup counts) in the background.

A buffer flushes itself when it is full or old *as something is added*; a web process that
receives one delivery and then nothing would otherwise hold that count until it exits, and the
health pages would not show it. ``start()`` (called by a buffer on every add; a no-op after the
first call in a process) runs one daemon thread per process that calls every registered
``flush`` each ``HUB_ROLLUP_SECONDS``. It starts lazily, so a forked worker (gunicorn, Celery
prefork) gets its own. Celery tasks still flush after every task (``task_postrun``).

``HUB_BACKGROUND_FLUSH = False`` turns the thread off (the tests flush explicitly: a thread
with its own database connection cannot see a test's uncommitted rows).
"""

import logging
import os
import threading

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)
_flushes: list[tuple[str, object]] = []
_started_in: int | None = None
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()


def register(name: str, flush) -> None:
    """Add a buffer's ``flush()`` to the background thread's round (at import time)."""
    _flushes.append((name, flush))


def start() -> None:
    """Start this process's flushing thread once (cheap to call on every add)."""
    global _started_in, _thread
    pid = os.getpid()
    if _started_in == pid or not settings.HUB_BACKGROUND_FLUSH:
        return
    with _lock:
        if _started_in == pid:
            return
        _started_in = pid
        _stop.clear()
        _thread = threading.Thread(target=_run, name="hub-buffer-flush", daemon=True)
        _thread.start()


def stop(timeout: float = 5.0) -> None:
    """Stop this process's thread after a last flush (tests; a process exiting needs nothing:
    the exit hook flushes)."""
    global _started_in
    _stop.set()
    if _thread is not None:
        _thread.join(timeout)
    _started_in = None


def flush_all() -> None:
    """Flush every registered buffer now; a failure is logged, never raised."""
    for name, flush in _flushes:
        try:
            flush()
        except Exception:
            logger.warning(f"{name}.flush_failed", exc_info=True)


def _run() -> None:
    while not _stop.wait(settings.HUB_ROLLUP_SECONDS):
        close_old_connections()  # a database restart must not break this thread for good
        flush_all()
    flush_all()
    connection.close()
