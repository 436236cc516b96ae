"""Checking a kept database connection before a unit of work (a Celery task, a group of ingested
rows) without a round trip each time.

``check_connection()`` does what Django does at the start of a request
(``close_old_connections``: a connection that saw an error, is older than ``CONN_MAX_AGE`` or,
with ``CONN_HEALTH_CHECKS``, fails a ``SELECT 1`` is closed, and the next query opens a fresh
one), at most every ``CHECK_EVERY`` seconds in a thread. In between it looks at the
connection's socket alone (one ``select`` that does not wait): a PostgreSQL backend that was
terminated, or a server that restarted, has closed its end, which shows as readable; a
connection that saw an error is checked at once. So a database restart still costs no unit of
work its answer, and a unit of work no longer pays a ``SELECT 1`` round trip (for a message of
one delivery, as much as its claim).
"""

import select
import threading
import time

from django.db import close_old_connections, connection

CHECK_EVERY = 1.0
"""Seconds between full checks (Django's) of a thread's connection."""

_next = threading.local()


def check_connection() -> None:
    """Before a unit of work on this thread's default connection (module docstring)."""
    now = time.monotonic()
    if now >= getattr(_next, "at", 0.0) or connection.errors_occurred or _closed_by_server():
        close_old_connections()
        _next.at = now + CHECK_EVERY


def _closed_by_server() -> bool:
    """True when this thread's idle PostgreSQL connection's socket is readable: the server has
    closed it (or sent something unasked, after which a fresh connection is the safe choice)."""
    raw = connection.connection
    if connection.vendor != "postgresql" or raw is None:
        return False
    if raw.closed:  # psycopg saw it break
        return True
    try:
        readable, _, _ = select.select([raw.fileno()], [], [], 0)
    except (OSError, ValueError):  # the descriptor is gone already
        return True
    return bool(readable)
