"""Per-process write buffers, flushed in bulk: one class, one flushing policy.

A ``WriteBuffer`` holds writes that are cheap to lose one at a time and costly to make one at a
time (the health figures' per-minute counts, the record of outbound calls). ``add(update)``
applies ``update(state)`` under the buffer's lock and flushes when the buffer holds ``batch()``
additions or its oldest is ``seconds()`` old; ``flush()`` hands the state to ``write(state)``
(one transaction of bulk writes) and returns what it returns. Every buffer is flushed by the
same three hooks, all here: by one daemon thread per process every ``HUB_ROLLUP_SECONDS`` (a
web process that receives one delivery and then nothing would otherwise hold that count until
it exits), after every Celery task in a process that runs no such thread
(``HUB_BACKGROUND_FLUSH = False``), and at interpreter exit. So the figures trail the rows they
count by at most ``HUB_ROLLUP_SECONDS``. A process
killed with -9 loses at most one buffer of counts, never a delivery.

The thread starts lazily on the first add, so a forked worker (gunicorn, Celery prefork) gets
its own. ``HUB_BACKGROUND_FLUSH = False`` turns it off (the tests flush explicitly: a thread
with its own database connection cannot see a test's uncommitted rows).
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from celery.signals import task_postrun
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

logger = logging.getLogger(__name__)
_buffers: list["WriteBuffer"] = []
_started_in: int | None = None
_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()


class WriteBuffer:
    def __init__(
        self,
        name: str,
        empty: Callable[[], object],
        write: Callable[[object], object],
        batch: Callable[[], int],
        seconds: Callable[[], float],
    ):
        """``empty()`` makes a fresh state; ``write(state)`` stores one; ``batch`` and
        ``seconds`` read the flushing thresholds (settings, read at each add)."""
        self.name, self._empty, self._write = name, empty, write
        self._batch, self._seconds = batch, seconds
        self._lock = threading.Lock()
        self._state = empty()
        self._pending = 0
        self._oldest = 0.0
        _buffers.append(self)

    def add(self, update: Callable[[object], None]) -> None:
        """Apply ``update(state)``; flush if due. A failed flush is logged as
        ``<name>.flush_failed`` and never raised: the caller's own work is already done."""
        with self._lock:
            if not self._pending:
                self._oldest = time.monotonic()
            update(self._state)
            self._pending += 1
            due = (
                self._pending >= self._batch() or time.monotonic() - self._oldest >= self._seconds()
            )
        start()
        if due:
            try:
                self.flush()
            except DatabaseError:
                logger.warning(f"{self.name}.flush_failed", exc_info=True)

    def flush(self):
        """Write what is buffered now (None when empty); raises what ``write`` raises."""
        with self._lock:
            state, pending = self._state, self._pending
            self._state, self._pending = self._empty(), 0
        if not pending:
            return None
        return self._write(state)

    def clear(self) -> None:
        """Drop what is buffered (tests)."""
        with self._lock:
            self._state, self._pending = self._empty(), 0


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
    """Flush every buffer now; a failure is logged as ``<name>.flush_failed``, never raised."""
    for buffer in _buffers:
        try:
            buffer.flush()
        except Exception:
            logger.warning(f"{buffer.name}.flush_failed", exc_info=True)


def _run() -> None:
    while not _stop.wait(settings.HUB_ROLLUP_SECONDS):
        close_old_connections()  # a database restart must not break this thread for good
        flush_all()
    flush_all()
    connection.close()


@task_postrun.connect(weak=False)
def _after_task(**kwargs) -> None:
    """Flush after a task only in a process without its flushing thread (tests' workers): with
    the thread, a flush per task cost a worker a transaction per message for counts that the
    thread writes within HUB_ROLLUP_SECONDS anyway."""
    if _started_in != os.getpid():
        flush_all()


atexit.register(flush_all)
