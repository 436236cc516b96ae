"""Handing stored deliveries to the Celery workers (ids only), cheaply.

``enqueue(id)`` is what ingest calls after the commit: it puts the id on this process's
publish queue and returns at once. A background thread publishes the queued ids as
``webhooks.process_batch`` messages of up to HUB_PUBLISH_BATCH ids, waiting at most
HUB_PUBLISH_LINGER_IDLE seconds to fill a message while the workers keep up (the broker's queue
is empty), HUB_PUBLISH_LINGER while some messages wait on it, and HUB_PUBLISH_LINGER_BACKLOG
once at least HUB_PUBLISH_BACKLOG messages wait (the workers are well behind: every message
waits its turn anyway, so full messages cost no lag and save the workers CPU): prompt
messages when lag matters, full ones when CPU per delivery does. The queue is looked at (one
Redis LLEN) at most every HUB_PUBLISH_PROBE_SECONDS; a broker that is not Redis counts as
some messages waiting. One publish costs about as much CPU as the INSERT it follows
(research/performance-floor.md); batching spreads it over many requests.

``publish(ids, countdown=None)`` publishes at once, in chunks, and returns False if the broker
refused. Nothing here raises: a delivery whose message was never sent (broker down, process
killed before its queue drained) stays ``queued`` and the sweep publishes it again, so the
broker is never the only copy of the work.
"""

import atexit
import logging
import queue
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)


def publish(ids: list[int], countdown: float | None = None) -> bool:
    from .tasks import process_batch

    size = settings.HUB_PUBLISH_BATCH
    limit = settings.HUB_HANDLER_TIME_LIMIT * settings.HUB_RETRY_TIME_SCALE
    ok = True
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        try:
            process_batch.apply_async(
                (chunk,),
                countdown=countdown,
                retry=False,
                time_limit=limit * len(chunk) * 2 + 30,  # backstop; handlers have an alarm
            )
        except Exception:
            logger.warning("webhooks.publish.failed", extra={"delivery_ids": chunk}, exc_info=True)
            ok = False
    return ok


class _Publisher:
    """This process's publish queue and the thread that drains it."""

    def __init__(self):
        self.probed_at, self.waiting = float("-inf"), None
        self.queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.start_lock = threading.Lock()
        self.send_lock = threading.Lock()  # held while a message is filled and sent
        self.thread: threading.Thread | None = None

    def put(self, delivery_id: int) -> None:
        self.queue.put(delivery_id)
        if self.thread is None or not self.thread.is_alive():
            with self.start_lock:
                if self.thread is None or not self.thread.is_alive():
                    self.thread = threading.Thread(
                        target=self._run, name="hub-publisher", daemon=True
                    )
                    self.thread.start()

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            with self.send_lock:
                ids = [first]
                self._fill(ids, linger=self.linger())
                publish(ids)

    def linger(self) -> float:
        """How long to fill a message, by the broker's queue when last looked at (see the
        module docstring)."""
        now = time.monotonic()
        if now - self.probed_at >= settings.HUB_PUBLISH_PROBE_SECONDS:
            self.probed_at, self.waiting = now, queue_length()
        if self.waiting == 0:
            return settings.HUB_PUBLISH_LINGER_IDLE
        if self.waiting is not None and self.waiting >= settings.HUB_PUBLISH_BACKLOG:
            return settings.HUB_PUBLISH_LINGER_BACKLOG
        return settings.HUB_PUBLISH_LINGER

    def _fill(self, ids: list[int], linger: float) -> None:
        """Add queued ids until the message is full or ``linger`` seconds have passed since it
        was started (one deadline per message, not per id)."""
        deadline = time.monotonic() + linger
        while len(ids) < settings.HUB_PUBLISH_BATCH:
            remaining = deadline - time.monotonic()
            try:
                ids.append(
                    self.queue.get(timeout=remaining) if remaining > 0 else self.queue.get_nowait()
                )
            except queue.Empty:
                return

    def flush(self) -> None:
        """Publish whatever is queued, now, including a message the thread is filling."""
        with self.send_lock:  # waits for the thread's message in progress to be sent
            while True:
                ids: list[int] = []
                self._fill(ids, linger=0)
                if not ids:
                    return
                publish(ids)


_broker = None


def queue_length() -> int | None:
    """How many messages wait on the hub's queue of the Redis broker (one LLEN); None when it
    cannot be asked or is not Redis (the embedded broker keeps the middle path)."""
    global _broker
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    try:
        if _broker is None:
            import redis

            _broker = redis.Redis.from_url(url, socket_timeout=2)
        return _broker.llen(getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"))
    except Exception:
        logger.warning("webhooks.publisher.queue_length_unknown", exc_info=True)
        return None


def queue_is_empty() -> bool:
    """True when the Redis broker holds no message on the hub's queue; False when it holds
    some, cannot be asked, or is not Redis."""
    return queue_length() == 0


_publisher = _Publisher()


def enqueue(delivery_id: int) -> None:
    """Hand a committed delivery to the workers (asynchronously; see the module docstring)."""
    _publisher.put(delivery_id)


def flush() -> None:
    _publisher.flush()


atexit.register(flush)
