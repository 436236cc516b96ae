"""Group commit on the ingest path (webhooks.store): concurrent deliveries of one process share
one INSERT, each request still gets its own committed row, or its own refusal."""

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import DatabaseError, DataError, IntegrityError, connection
from django.utils import timezone

from webhooks.models import Delivery
from webhooks.store import GroupWriter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writer():
    writer = GroupWriter()
    yield writer
    writer.stop()  # closes the writer thread's connection before the test database goes


def _row(source, external_id):
    now = timezone.now()
    return {
        "source_id": source.pk,
        "provider": source.provider,
        "external_id": external_id,
        "status": Delivery.Status.QUEUED,
        "received_at": now,
        "queued_at": now,
        "body": external_id.encode(),
        "body_size": len(external_id),
    }


def _insert(writer, values):
    try:
        return writer.insert(values)
    except DatabaseError as exc:
        return exc


def _connect(**extra):
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], **extra
    )


def _wait(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not reached after {timeout} s"
        time.sleep(0.01)


def _in_two_groups(writer, rows):
    """Insert ``rows`` from as many threads: the first alone while another connection holds
    the table, so that all the others queue up behind it and go as the second group."""
    name = connection.settings_dict["NAME"]
    with _connect() as blocker, _connect(autocommit=True) as watcher:

        def writer_blocked():
            return watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND wait_event_type = 'Lock'",
                [name],
            ).fetchone()[0]

        blocker.execute("LOCK TABLE webhooks_delivery IN EXCLUSIVE MODE")
        with ThreadPoolExecutor(len(rows)) as pool:
            first = pool.submit(_insert, writer, rows[0])
            _wait(writer_blocked, "the first group waiting for the table")
            rest = [pool.submit(_insert, writer, values) for values in rows[1:]]
            _wait(lambda: writer._queue.qsize() == len(rest), "the others queued")
            blocker.commit()  # release the table
            return [first.result(10)] + [f.result(10) for f in rest]


def test_requests_waiting_behind_a_write_go_in_one_group_with_their_own_ids(make_source, writer):
    source, _ = make_source("github")
    rows = [_row(source, f"delivery-{n}") for n in range(30)]
    rows.append(_row(source, "delivery-7"))  # the provider sent delivery-7 twice
    answers = _in_two_groups(writer, rows)

    assert (writer.groups, writer.rows) == (2, 31)  # one row, then everything that waited
    *ids, duplicate = answers
    assert isinstance(duplicate, IntegrityError)  # refused on its own ...
    assert all(isinstance(pk, int) for pk in ids) and len(set(ids)) == 30  # ... the rest stored
    stored = dict(Delivery.objects.values_list("pk", "external_id"))
    assert [stored[pk] for pk in ids] == [f"delivery-{n}" for n in range(30)]


def test_a_row_the_database_refuses_fails_only_its_own_request(make_source, writer):
    source, _ = make_source("github")
    rows = [_row(source, f"ok-{n}") for n in range(5)]
    rows.insert(3, _row(source, "x" * 400))  # longer than external_id's column
    answers = _in_two_groups(writer, rows)
    assert isinstance(answers[3], DataError)
    assert all(isinstance(pk, int) for n, pk in enumerate(answers) if n != 3)
    assert Delivery.objects.filter(external_id__startswith="ok-").count() == 5


def test_a_connection_lost_between_groups_is_replaced_before_the_next(make_source, writer):
    source, _ = make_source("github")
    writer.insert(_row(source, "before"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    with _connect(autocommit=True) as admin:  # the writer's backend dies (a restart, a kill)
        admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s"
            " AND pid NOT IN (pg_backend_pid(), %s)",
            [connection.settings_dict["NAME"], ours],
        )
    # within a second of the last group: the socket (closed by the server) says so, no SELECT 1
    assert isinstance(writer.insert(_row(source, "after")), int)
    assert set(Delivery.objects.values_list("external_id", flat=True)) == {"before", "after"}


def _backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_unit_of_work_gets_a_live_connection_within_a_second_of_the_last_full_check():
    """core.dbcheck, which the writer and every Celery task run first: between full checks
    (a SELECT 1 at most a second apart) a connection the server closed is seen on its socket
    and replaced, and one that saw an error is checked at once."""
    from core.dbcheck import check_connection

    check_connection()  # a full check: the next ones within a second look at the socket
    first = _backend_pid()
    with _connect(autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [first])
    check_connection()
    second = _backend_pid()  # a dead connection would raise here
    assert second != first

    connection.errors_occurred = True  # as Django marks it after a DatabaseError
    check_connection()
    assert connection.errors_occurred is False  # checked at once (a SELECT 1), and it answered
    assert _backend_pid() == second  # so it is kept
