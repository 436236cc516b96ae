"""Handlers registered for the tests (HUB_WEBHOOK_HANDLERS in tests/settings.py), for a
generic source whose event type comes from the X-Event header."""

import tempfile
import time
from pathlib import Path

from webhooks.errors import PermanentError

from .models import SideEffect


def count(event):
    SideEffect.objects.create(delivery_id=event.delivery_id, attempt=event.attempt)


def always_fail(event):
    SideEffect.objects.create(delivery_id=event.delivery_id, attempt=event.attempt)
    raise RuntimeError(f"downstream refused attempt {event.attempt} (token=sk_live_abcdef123456)")


def fail_twice(event):
    SideEffect.objects.create(delivery_id=event.delivery_id, attempt=event.attempt)
    if event.attempt <= 2:
        raise ConnectionError(f"attempt {event.attempt}: downstream unavailable")


def permanent(event):
    raise PermanentError("customer cus_123 does not exist here")


def wrote_marker(external_id: str) -> Path:
    """The file ``slow_first_attempt`` creates once its first attempt has written (an event the
    test waits for: the write itself is uncommitted, so the database cannot show it)."""
    return Path(tempfile.gettempdir()) / f"hub-test-wrote-{external_id}"


def slow_first_attempt(event):
    """Writes its side effect, then hangs on the first attempt (to be killed mid-handler)."""
    SideEffect.objects.create(delivery_id=event.delivery_id, attempt=event.attempt)
    if event.attempt == 1:
        wrote_marker(event.external_id).touch()
        time.sleep(60)


def call_github_as_connection(event):
    """Calls out through the source's connection; the failure carries the token in a URL."""
    event.connection.client().get("/user", params={"access_token": event.connection.credentials})


def fail_first(event):
    """Fails on the first attempt only: a replay succeeds."""
    if event.attempt == 1:
        raise ConnectionError("downstream timed out after 30 s")


def sleepy(event):
    """Takes 5 s: longer than the time limit the test sets."""
    time.sleep(5)
