"""The shared rate limit of the receiving endpoint (webhooks.ratelimit) on the real Redis cache:
exact near the limit, shared between processes, and cheap far from it."""

import time
import uuid

import pytest
from django.core.cache import cache

from webhooks.ratelimit import SharedWindowLimiter, window_end


def _counter(key: str, rate: str) -> int | None:
    count, unit = rate.split("/")
    period = {"m": 60, "h": 3600}[unit]
    return cache.get(f"hub:rl:test:{key}:{period}:{window_end(key, period, time.time())}")


@pytest.fixture
def key():
    """A new key whose minute window has at least 20 s left: a test that counts within one
    window must not see it end (each key's windows are offset by a hash of the key)."""
    while True:
        key = str(uuid.uuid4())
        if window_end(key, 60, time.time()) - time.time() > 20:
            return key


def test_near_the_limit_every_request_is_decided_on_the_shared_count(key, settings):
    settings.HUB_RATE_SYNC_SECONDS = 60
    limiter = SharedWindowLimiter()
    passed = [not limiter.hit("test", key, "50/m").should_limit for _ in range(80)]
    assert passed == [True] * 50 + [False] * 30
    assert _counter(key, "50/m") == 80  # every request counted


def test_two_processes_share_one_limit(key, settings):
    settings.HUB_RATE_SYNC_SECONDS = 60
    web1, web2 = SharedWindowLimiter(), SharedWindowLimiter()
    passed = 0
    for n in range(600):
        usage = (web1 if n % 2 else web2).hit("test", key, "300/m")
        passed += not usage.should_limit
    every = settings.HUB_RATE_SYNC_EVERY
    assert 300 <= passed <= 300 + 2 * every  # each may let through what it has not yet added
    assert _counter(key, "300/m") == 600


def test_far_from_the_limit_requests_are_added_in_batches(key, settings):
    settings.HUB_RATE_SYNC_SECONDS = 60
    every = settings.HUB_RATE_SYNC_EVERY
    limiter = SharedWindowLimiter()
    for _ in range(every - 1):
        assert not limiter.hit("test", key, "100000/h").should_limit
    assert _counter(key, "100000/h") is None  # nothing sent yet
    limiter.hit("test", key, "100000/h")
    assert _counter(key, "100000/h") == every  # one add of all of them


def test_a_quiet_source_is_added_after_the_sync_interval(key, settings):
    settings.HUB_RATE_SYNC_SECONDS = 0.05
    limiter = SharedWindowLimiter()
    limiter.hit("test", key, "100000/h")
    time.sleep(0.06)
    limiter.hit("test", key, "100000/h")
    assert _counter(key, "100000/h") == 2
