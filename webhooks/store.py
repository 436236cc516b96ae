"""The one INSERT of the ingest hot path, with its SQL built once per process, and group commit.

``insert_delivery(values) -> id`` writes a Delivery row from ``{field name: value}`` (fields
left out take their model default) and returns its id, in one statement (``INSERT ...
RETURNING``, PostgreSQL and SQLite >= 3.35). Values go through each field's own
``get_db_prep_save``, exactly as the ORM would; only the SQL compilation, which cost about a
fifth of the endpoint's CPU, is done once. Raises IntegrityError on a duplicate like the ORM.

``insert_grouped(values) -> id`` is the same promise for a request thread of a web process
(HUB_INGEST_GROUP_COMMIT): the row joins whatever other requests of this process are waiting to
be written, and one writer thread (its own database connection) writes them with one multi-row
``INSERT ... RETURNING`` in autocommit. When it returns, the row is committed, as with
``insert_delivery``; nothing waits on a timer: under light load a group is one row, under heavy
load it is every row that arrived while the previous statement ran. A group that breaks a
constraint or holds a value its column refuses is written again one row at a time, so each
request gets its own answer. Before each group the writer checks its connection as a request
would, without a round trip each time (``core.dbcheck.check_connection``: the socket each group,
Django's ``SELECT 1`` at most a second apart), so a database restart costs no answer; a
connection lost during a statement fails that group (each request answers 503).
"""

import logging
import os
import queue
import threading
from functools import cache

from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    connection,
    connections,
    models,
)

from core import bulk
from core.dbcheck import check_connection

from .models import Delivery

logger = logging.getLogger(__name__)
MAX_GROUP = 64


@cache
def _statement(alias: str, rows: int = 1):
    """(sql, fields, constant defaults prepared once; callable ones, e.g. timezone.now, are
    prepared on every call)."""
    connection = connections[alias]
    sql, fields = bulk.insert_sql(Delivery, alias, rows, returning=True)
    prepared = {
        f.attname: f.get_db_prep_save(f.get_default(), connection)
        for f in fields
        if not (f.has_default() and callable(f.default))  # no default: None or ""
    }
    return sql, fields, prepared


TEXT_FIELDS = (models.CharField, models.TextField)
"""Exactly these classes (not subclasses, which may override it): ``get_db_prep_save`` of a
``str`` is the ``str`` itself, so it is passed as it is (5 calls a field saved)."""


def _params(values: dict, fields, prepared, connection) -> list:
    params = []
    for f in fields:
        if f.attname in values:
            value = values[f.attname]
            if type(value) is str and type(f) in TEXT_FIELDS:
                params.append(value)
            else:
                params.append(f.get_db_prep_save(value, connection))
        elif f.attname in prepared:
            params.append(prepared[f.attname])
        else:
            params.append(f.get_db_prep_save(f.get_default(), connection))
    return params


def insert_delivery(values: dict, using: str = "default") -> int:
    return insert_many([values], using)[0]


def insert_many(rows: list[dict], using: str = "default") -> list[int]:
    """One INSERT of these rows; their ids in the same order (RETURNING follows the VALUES
    order on PostgreSQL and SQLite, which Django's bulk_create relies on too)."""
    connection = connections[using]
    sql, fields, prepared = _statement(using, len(rows))
    params = []
    for values in rows:
        params += _params(values, fields, prepared, connection)
    return [row[0] for row in bulk.fetch_bound(connection, sql, params)]


class _Request:
    """One row to write; ``done`` is a latch (a lock taken at creation, released by the writer:
    a fraction of what an Event costs, which builds a Condition per request)."""

    __slots__ = ("values", "done", "id", "error")

    def __init__(self, values: dict):
        self.values, self.done, self.id, self.error = values, threading.Lock(), None, None
        self.done.acquire()


class GroupWriter:
    """One writer thread per process; see the module docstring."""

    def __init__(self):
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._pid = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.groups = self.rows = 0  # written by this process (tests, diagnostics)

    def insert(self, values: dict) -> int:
        self._start()
        request = _Request(values)
        self._queue.put(request)
        request.done.acquire()
        if request.error is not None:
            raise request.error
        return request.id

    def _start(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._run, name="hub-ingest-writer", daemon=True
                )
                self._thread.start()
                self._pid = os.getpid()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued, close the thread's connection and end it (tests; a process
        that exits needs nothing: the requests waiting on it are gone with it)."""
        with self._lock:
            if self._pid != os.getpid() or self._thread is None:
                return
            self._queue.put(None)
            self._thread.join(timeout)
            self._pid = self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                connection.close()
                return
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # end after this group
                    break
                group.append(item)
            check_connection()  # as at the start of a request (module docstring)
            self._write(group)
            self.groups += 1
            self.rows += len(group)

    def _write(self, group: list[_Request]) -> None:
        try:
            for request, pk in zip(group, insert_many([r.values for r in group]), strict=True):
                request.id = pk
        except (IntegrityError, DataError):  # one row's doing: each request gets its own answer
            self._write_one_by_one(group)
        except DatabaseError as exc:
            logger.warning("webhooks.store.group_failed", extra={"rows": len(group)})
            for request in group:
                request.error = DatabaseError(str(exc))
            connection.close()  # a broken connection is opened afresh for the next group
        except Exception as exc:  # never leave a request waiting
            logger.exception("webhooks.store.group_failed")
            for request in group:
                request.error = DatabaseError(f"{type(exc).__name__}: {exc}")
        finally:
            for request in group:
                request.done.release()

    def _write_one_by_one(self, group: list[_Request]) -> None:
        for request in group:
            try:
                request.id = insert_delivery(request.values)
            except IntegrityError as exc:
                request.error = IntegrityError(str(exc))
            except DataError as exc:
                request.error = DataError(str(exc))
            except DatabaseError as exc:
                request.error = DatabaseError(str(exc))


WRITER = GroupWriter()


def insert_grouped(values: dict) -> int:
    return WRITER.insert(values)
