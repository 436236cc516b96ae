"""Per-source rate limits shared by every web process, with few round trips to the cache.

``LIMITER.hit(group, key, rate) -> Usage`` counts one request in the current fixed window of
``rate`` (``"6000/m"``: windows of 60 s, each key's windows offset by a hash of the key, as
django-ratelimit does, so that all sources do not reset at once) and says whether this request
is over the limit and how long until the window ends.

The count of a window lives in the shared cache (Redis in production, diskcache on the embedded
stack), one key per (group, key, window). django-ratelimit reads and adds to it with two round
trips per request (``add``, then ``incr``), which cost a third of the receiving endpoint's CPU.
Here each process counts locally and adds what it counted with one ``incr``:

- when it holds HUB_RATE_SYNC_EVERY (20) requests not yet added, or HUB_RATE_SYNC_SECONDS (0.2)
  have passed since it last added, and
- on every request once its estimate (the last shared total it saw plus what it holds) reaches
  90 % of the limit less HUB_RATE_SYNC_EVERY: near the limit, every request is added to the
  shared total before it is let through, and the answer is decided on that total.

So far from the limit most requests cost no round trip. What this gives up: a process decides
on a shared total at most HUB_RATE_SYNC_SECONDS old, so a burst that climbs from under 90 % to
over the limit within that time can pass the limit by what the processes accepted meanwhile
(at most HUB_RATE_SYNC_EVERY each before they must add). Requests a process still holds when
their window ends are never added: they can no longer change an answer.

If the cache cannot be reached the error propagates; the caller decides (ingest fails open).
"""

import threading
import time
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from core.validators import parse_rate

NEAR = 0.9  # share of the limit from which every request is added to the shared total


@dataclass(frozen=True)
class Usage:
    count: int
    limit: int
    should_limit: bool
    time_left: int


class _Window:
    __slots__ = ("end", "total", "pending", "synced")

    def __init__(self, end: int):
        self.end, self.total, self.pending, self.synced = end, 0, 0, time.monotonic()


class SharedWindowLimiter:
    """One per process (``LIMITER``); its own instances in tests stand for separate processes."""

    def __init__(self, cache_alias: str = "default"):
        self.cache_alias = cache_alias
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def hit(self, group: str, key: str, rate: str) -> Usage:
        limit, period = parse_rate(rate)
        now = time.time()
        end = window_end(key, period, now)
        name = f"hub:rl:{group}:{key}:{period}:{end}"
        every = settings.HUB_RATE_SYNC_EVERY
        with self._lock:
            window = self._windows.get(name)
            if window is None:
                window = self._windows[name] = _Window(end)
                self._forget_past(now)
            window.pending += 1
            estimate = window.total + window.pending
            due = (
                window.pending >= every
                or time.monotonic() - window.synced >= settings.HUB_RATE_SYNC_SECONDS
                or estimate >= NEAR * limit - every
            )
            if not due:
                return Usage(estimate, limit, estimate > limit, end - int(now))
            delta, window.pending = window.pending, 0
        try:
            total = self._add(name, delta, period)
        except Exception:
            with self._lock:
                window.pending += delta  # counted with the next add
            raise
        with self._lock:
            window.total = max(window.total, total)
            window.synced = time.monotonic()
        return Usage(total, limit, total > limit, end - int(now))

    def clear(self) -> None:
        """Forget this process's windows (tests)."""
        with self._lock:
            self._windows.clear()

    def _add(self, name: str, delta: int, period: int) -> int:
        cache = caches[self.cache_alias]
        try:
            return cache.incr(name, delta)
        except ValueError:  # the first add of this window, by any process
            if cache.add(name, delta, period + 60):
                return delta
            return cache.incr(name, delta)

    def _forget_past(self, now: float) -> None:
        if len(self._windows) > 256:
            for name in [n for n, w in self._windows.items() if w.end < now]:
                del self._windows[name]


def window_end(key: str, period: int, now: float) -> int:
    """The end of ``key``'s current window (django-ratelimit's staggered fixed windows)."""
    ts = int(now)
    if period == 1:
        return ts + 1
    end = ts - (ts % period) + (zlib.crc32(key.encode()) % period)
    return end + period if end <= ts else end


LIMITER = SharedWindowLimiter()
