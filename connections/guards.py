"""State shared by every process (web and workers, any machine) about one connection: its
rate-limit budget and its circuit breaker. It lives in Django's cache (Redis in production,
diskcache in the embedded default); nothing is kept in process memory.

Written here rather than with pybreaker: pybreaker's storage API costs a cache round trip per
counter and state access (three or four per call) and its half-open state lets every concurrent
caller through, while a circuit shared by many processes must let exactly one trial call
through. Here a call costs, on Redis, one pipelined round trip before it (state and rate
window together) and nothing after it on the fast path; on other caches a ``get_many`` and an
``incr``.

Contract:
- ``Guards.before_call()`` raises ``CircuitOpen`` (open, or half-open with the trial taken) or
  ``RateLimited`` (our window spent, or the provider said 0 remaining, and the wait is longer
  than ``max_wait``; shorter waits are slept). It returns a ``Ticket``.
- ``Guards.after_call(ticket, failed, remaining, reset)`` counts a failure (opening the circuit
  after ``failure_threshold`` consecutive ones, or when the trial fails), closes the circuit
  on a success, and adopts the provider's rate-limit headers.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache, caches
from django_redis.cache import RedisCache

from core.validators import parse_rate

from .errors import CircuitOpen, RateLimited


@dataclass
class Ticket:
    trial: bool
    failures: int


class Guards:
    def __init__(
        self,
        connection_id: int,
        rate: str,
        *,
        max_wait: float = 5.0,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
    ):
        self.limit, self.period = parse_rate(rate)
        self.max_wait = max_wait
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        prefix = f"hub:conn:{connection_id}"
        self.k_open, self.k_fails = f"{prefix}:open_until", f"{prefix}:fails"
        self.k_trial, self.k_block = f"{prefix}:trial", f"{prefix}:blocked_until"
        self.k_window = f"{prefix}:window"

    # --- before ---------------------------------------------------------------------------
    def before_call(self) -> Ticket:
        now = time.time()
        state, count = self._read_and_count(now)
        trial = self._circuit(state.get(self.k_open), now)
        try:
            self._wait_for(state.get(self.k_block), now, "the provider reported 0 remaining")
            if count is None or count > self.limit:
                if count is not None:  # over this window's budget: wait for the next one
                    window_end = (int(now // self.period) + 1) * self.period
                    self._wait_for(window_end, now, f"our limit of {self.limit}")
                self._take_token()
        except RateLimited:
            if trial:
                cache.delete(self.k_trial)
            raise
        return Ticket(trial=trial, failures=state.get(self.k_fails) or 0)

    def _read_and_count(self, now) -> tuple[dict, int | None]:
        """The circuit/block state and this call's place in the rate window. On Redis
        (django-redis) that is one pipelined round trip (MGET, INCR, EXPIRE NX); on other
        caches the state is read here and the window counted by _take_token."""
        backend = caches["default"]
        client = _redis_client(backend)
        keys = [self.k_open, self.k_fails, self.k_block]
        if client is None:
            return cache.get_many(keys), None
        window_key = backend.make_key(f"{self.k_window}:{int(now // self.period)}")
        pipe = client.pipeline(transaction=False)
        pipe.mget([backend.make_key(k) for k in keys])
        pipe.incr(window_key)
        pipe.expire(window_key, self.period + 5, nx=True)
        values, count, _ = pipe.execute()
        decode = backend.client.decode
        state = {k: decode(v) for k, v in zip(keys, values, strict=True) if v is not None}
        return state, count

    def _circuit(self, open_until, now) -> bool:
        if open_until is None:
            return False
        if now < open_until:
            raise CircuitOpen(
                f"Calls are paused for {open_until - now:.0f} s after repeated failures; the "
                "provider looks down. Nothing to do unless it lasts (see the connection page).",
                retry_after=open_until - now,
            )
        if cache.add(self.k_trial, 1, timeout=max(60, int(self.reset_timeout))):
            return True  # half-open: this call is the one trial
        raise CircuitOpen(
            "A trial call is checking whether the provider is back; retry in a moment.",
            retry_after=1.0,
        )

    def _take_token(self) -> None:
        while True:
            now = time.time()
            window = int(now // self.period)
            count = _incr(f"{self.k_window}:{window}", timeout=self.period + 5)
            if count <= self.limit:
                return
            self._wait_for((window + 1) * self.period, now, f"our limit of {self.limit}")

    def _wait_for(self, until, now, why) -> None:
        if until is None or until <= now:
            return
        wait = until - now
        if wait > self.max_wait:
            raise RateLimited(
                f"Rate limit reached ({why}); calls resume in {wait:.0f} s.", retry_after=wait
            )
        time.sleep(wait)

    # --- after ----------------------------------------------------------------------------
    def after_call(self, ticket: Ticket, failed: bool, remaining=None, reset=None) -> str | None:
        """Record the outcome; returns the new circuit state when it changed."""
        changed = None
        if failed:
            failures = _incr(self.k_fails, timeout=3600)
            if ticket.trial or failures >= self.failure_threshold:
                cache.set(self.k_open, time.time() + self.reset_timeout, timeout=86400)
                changed = "open"
            if ticket.trial:
                cache.delete(self.k_trial)
        elif ticket.trial or ticket.failures:
            cache.delete_many([self.k_fails, self.k_open, self.k_trial])
            changed = "closed" if ticket.trial else None
        if remaining == 0 and reset and reset > time.time():
            cache.set(self.k_block, reset, timeout=int(reset - time.time()) + 1)
        return changed

    def circuit_state(self) -> str:
        open_until = cache.get(self.k_open)
        if open_until is None:
            return "closed"
        return "open" if time.time() < open_until else "half_open"


def _redis_client(backend):
    """The raw redis client behind a django-redis cache, else None."""
    return backend.client.get_client(write=True) if isinstance(backend, RedisCache) else None


def _incr(key: str, timeout: int) -> int:
    """Atomic increment creating the key (with ``timeout``) when missing: one round trip
    while the key exists, which is every call but the first of a window."""
    while True:
        try:
            return cache.incr(key)
        except ValueError:  # missing: create it, unless another process just did
            if cache.add(key, 1, timeout=timeout):
                return 1
