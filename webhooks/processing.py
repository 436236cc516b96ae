"""Processing stored deliveries: claim, dispatch, record the outcome, schedule a retry.

Contract of ``process_many(ids)`` (and ``process(id)``), for the ids of one message:

- Claim: one conditional UPDATE ... RETURNING moves those of ``ids`` that are
  ``queued``/``retrying`` and due to ``processing`` (claimed_at, claimed_by, attempts+1,
  tries+1), commits it and reads back the rows this worker won (with their sources from
  ``source_cache``, as ingest reads them). Another worker's concurrent claim gets none.
- ``deliveries_claimed`` is sent for them (routing fans them out; see webhooks.signals).
- Then one transaction for the message (on SQLite one per delivery: see ``_groups``): the
  claimed rows are locked (``SELECT ... FOR UPDATE`` fenced on this claim; the sweep skips
  locked rows), each delivery's handler from the provider's dispatch table runs in its own
  savepoint under the handler time limit, and the outcomes are written together: one UPDATE
  of the deliveries fenced on the claim (``processed``; ``ignored`` with the reason when there
  is no handler; ``retrying`` with ``next_attempt_at`` from the schedule with full jitter, or
  ``dead`` when retries are exhausted or on ``PermanentError``), one INSERT of their
  ``Attempt`` rows. A handler that raises has its savepoint rolled back (its writes with it);
  a handler's writes commit with its outcome or not at all. If the sweep took any of the
  message's deliveries before the lock (``ClaimLost``), nothing of the message commits and
  the sweep handles the rest.
- A worker that dies mid-message leaves its rows ``processing``; the sweep records those
  attempts as ``lost`` and queues the deliveries again.

Returns the outcome per processed id (ids not claimed are absent).
"""

import logging
import os
import random
import signal
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from connections.models import Connection
from core import bulk, rollups
from core.redact import redact

from . import counts, registry, source_cache
from .errors import PermanentError
from .events import Event
from .models import Attempt, Delivery, DeliveryErrorGroup, Source
from .signals import deliveries_claimed

logger = logging.getLogger(__name__)
S = Delivery.Status


def attempt_counts(outcome: str, replay: bool) -> dict[str, int]:
    """The rollup counts of one ended attempt (hub/figures.py): the attempt, whether it failed,
    whether a replay started it, and the delivery's outcome when the attempt ended it."""
    fields = {"attempts": 1, "failed_attempts": int(outcome in FAILED_OUTCOMES)}
    if replay:
        fields["replays"] = 1
    if outcome in FINAL_FIELDS:
        fields[FINAL_FIELDS[outcome]] = 1
    return fields


FAILED_OUTCOMES = (Attempt.Outcome.FAILED, Attempt.Outcome.DEAD, Attempt.Outcome.LOST)
# Attempt outcome that ends the delivery -> the DeliveryRollup field of its outcome.
FINAL_FIELDS = {
    Attempt.Outcome.PROCESSED: "processed",
    Attempt.Outcome.IGNORED: "ignored",
    Attempt.Outcome.DEAD: "dead",
}


class HandlerTimeout(Exception):
    """The handler ran longer than HUB_HANDLER_TIME_LIMIT (a failed attempt: retried)."""


@contextmanager
def time_limit(seconds: float):
    """Raise HandlerTimeout in this block after ``seconds`` (SIGALRM in this process). The alarm
    is cleared when the block ends, however it ends, so it can never fire on a later task or on
    an idle process. Outside the main thread (no signals there) the block runs unbounded and the
    pool's hard limit is the backstop."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise HandlerTimeout(
            f"The handler ran longer than {seconds:g} s (HUB_HANDLER_TIME_LIMIT) and was stopped."
        )

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ClaimLost(Exception):
    """The sweep gave some of this message's deliveries to another worker while ours ran."""


@dataclass
class Result:
    """One delivery's attempt, as the message's transaction records it."""

    delivery: Delivery
    status: str
    outcome: str
    duration_ms: int
    finished: datetime
    note: str = ""
    error: Exception | None = None
    message: str = ""
    trace: str = ""
    next_at: datetime | None = None


def process(delivery_id: int) -> str | None:
    return process_many([delivery_id]).get(delivery_id)


def process_many(ids: list[int]) -> dict[int, str]:
    claimed = _claim(ids)
    if not claimed:
        return {}
    unannounced = _announce(claimed)
    results = []
    for group in _groups(claimed):
        try:
            with transaction.atomic():
                held = _lock(group)
                done = [_run(d, unannounced.get(d.pk)) for d in group if d.pk in held]
                _record(done)
        except ClaimLost as lost:
            logger.warning("webhooks.process.claim_lost", extra={"delivery_ids": lost.args[0]})
            continue
        results += done
    for result in results:
        if result.next_at is not None:
            _schedule_retry(result.delivery.pk, result.next_at)
    return {result.delivery.pk: result.status for result in results}


def _groups(claimed: list[Delivery]) -> list[list[Delivery]]:
    """The deliveries of each transaction: the whole message on PostgreSQL; one at a time on
    SQLite, whose single write lock a transaction holds while its handlers run (the web
    process's INSERTs wait for it), so a long message would stall intake."""
    if connection.vendor == "sqlite":
        return [[delivery] for delivery in claimed]
    return [claimed]


def _claim(ids: list[int]) -> list[Delivery]:
    """One UPDATE ... RETURNING: claim those of ``ids`` that are due and read them back, each
    with its source (source_cache: configuration, as ingest reads it, at most
    HUB_SOURCE_CACHE_SECONDS old) and the source's connection (read now: fresh credentials).
    Raw SQL: compiling the ORM's claim and select_related read cost 3.5 ms a message.

    The status test is written ``status || ''`` so that no index can serve it: the rows are
    found by primary key alone. Written plainly, PostgreSQL AND-ed the primary key with the
    status index, expecting few queued rows; but that index keeps an entry for every row that
    was ever queued until a vacuum, so under a backlog each claim walked all of them (13 ms a
    claim over 118,000 entries, against 0.1 ms by primary key)."""
    ids = [int(pk) for pk in ids]
    if not ids:
        return []
    now = timezone.now()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stamp = Delivery._meta.get_field("claimed_at").get_db_prep_value(now, connection)
    params = [S.PROCESSING, stamp, worker, *ids, *S.CLAIMABLE, stamp]
    claimed = sorted(
        Delivery.objects.raw(_claim_sql(connection.alias, len(ids)), params), key=lambda d: d.pk
    )
    links = {}
    for delivery in claimed:
        delivery.source = source_cache.get(str(delivery.source_id))
        if delivery.source.connection_id:
            links[delivery.source.connection_id] = None
    if links:
        links = Connection.objects.in_bulk(list(links))
    for delivery in claimed:
        delivery.linked_connection = links.get(delivery.source.connection_id)
    return claimed


@cache
def _claim_sql(alias: str, count: int) -> str:
    meta = Delivery._meta
    qn = connections[alias].ops.quote_name
    columns = ", ".join(qn(f.column) for f in meta.concrete_fields)
    return (
        f"UPDATE {meta.db_table} SET status = %s, claimed_at = %s, claimed_by = %s, "  # noqa: S608
        "attempts = attempts + 1, tries = tries + 1 "
        f"WHERE id IN ({bulk.placeholders(count)}) AND status || '' IN (%s, %s) "
        f"AND (next_attempt_at IS NULL OR next_attempt_at <= %s) RETURNING {columns}"
    )


def _lock(claimed: list[Delivery]) -> set[int]:
    """Lock the rows still under this claim until the message commits (PostgreSQL): while the
    lock is held the sweep skips them, so the claim cannot be lost under a running handler,
    and once this process dies the lock goes with its connection. Returns their ids."""
    first = claimed[0]
    when = Delivery._meta.get_field("claimed_at").get_db_prep_value(first.claimed_at, connection)
    sql = (
        f"SELECT id FROM {Delivery._meta.db_table} "  # noqa: S608
        f"WHERE id IN ({bulk.placeholders(len(claimed))}) AND status = %s "
        "AND claimed_by = %s AND claimed_at = %s"
    )
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(d.pk for d in claimed), S.PROCESSING, first.claimed_by, when])
        return {row[0] for row in cursor.fetchall()}


def _announce(deliveries: list[Delivery]) -> dict[int, Exception]:
    """``deliveries_claimed`` for the whole message (routing fans them out in bulk); if a
    receiver fails, again for each delivery on its own. Returns the error of each delivery
    whose announcement failed: its attempt fails with it (and is retried)."""
    try:
        deliveries_claimed.send(sender=Delivery, deliveries=deliveries)
        return {}
    except Exception:
        logger.warning("webhooks.process.announce_failed", exc_info=True)
    failed = {}
    for delivery in deliveries:
        try:
            deliveries_claimed.send(sender=Delivery, deliveries=[delivery])
        except Exception as exc:
            failed[delivery.pk] = exc
    return failed


def _run(delivery: Delivery, unannounced: Exception | None = None) -> Result:
    """Run the delivery's handler in a savepoint (its writes commit with the outcome or not at
    all) and say what became of it; writes nothing else."""
    handler, reason = registry.table(delivery.provider).resolve(delivery.event_type)
    started = time.monotonic()
    try:
        if unannounced is not None:
            raise unannounced
        if delivery.source.handling == Source.Handling.ROUTES:
            note = "Routes only: this source's handlers run as handler destinations of its routes."
            return _result(delivery, S.PROCESSED, Attempt.Outcome.PROCESSED, started, note=note)
        if handler is None:
            note = f"{delivery.provider} {delivery.event_type or '(no event type)'}: {reason}"
            return _result(delivery, S.IGNORED, Attempt.Outcome.IGNORED, started, note=note)
        limit = settings.HUB_HANDLER_TIME_LIMIT * settings.HUB_RETRY_TIME_SCALE
        with _savepoint(), time_limit(limit):
            handler(_event(delivery))
        return _result(delivery, S.PROCESSED, Attempt.Outcome.PROCESSED, started)
    except Exception as exc:
        status, outcome = _failure(delivery, exc)
        return _result(delivery, status, outcome, started, error=exc)


@contextmanager
def _savepoint():
    """``transaction.atomic()`` for a handler inside the message's transaction, less its
    RELEASE: if the block raises (or leaves the transaction marked for rollback) its writes are
    rolled back to the savepoint, as atomic() does; otherwise the savepoint stays open until
    the message commits, which releases it. One round trip less per delivery."""
    using = connection.alias
    sid = transaction.savepoint(using)
    try:
        yield
    except BaseException:
        _undo(sid, using)
        raise
    if transaction.get_rollback(using):
        _undo(sid, using)


def _undo(sid, using) -> None:
    transaction.savepoint_rollback(sid, using)
    transaction.set_rollback(False, using)


def _result(delivery, status, outcome, started, note="", error=None) -> Result:
    finished = timezone.now()
    next_at = None
    if status == S.RETRYING:
        next_at = finished + timedelta(seconds=_delay(delivery.source, delivery.tries))
    message, trace = _error_text(delivery, error)
    if error is not None:
        note = f"{type(error).__name__}: {message}"[:2000]
    duration_ms = int((time.monotonic() - started) * 1000)
    return Result(
        delivery, status, outcome, duration_ms, finished, note, error, message, trace, next_at
    )


def _record(results: list[Result]) -> None:
    """Record every outcome and its attempt in the message's transaction: one UPDATE of the
    deliveries fenced on this worker's claim (ClaimLost if any slipped away: then nothing of
    the message commits), one INSERT of the attempts, the error groups, and the counts after
    the commit."""
    if not results:
        return
    first = results[0].delivery
    rows = [
        (r.delivery.pk, r.status, r.note, r.next_at, None if r.next_at else r.finished)
        for r in results
    ]
    held = bulk.update_from_values(
        Delivery,
        ("status", "error", "next_attempt_at", "processed_at"),
        rows,
        fence={
            "status": S.PROCESSING,
            "claimed_by": first.claimed_by,
            "claimed_at": first.claimed_at,
        },
        constants={"claimed_at": None, "claimed_by": "", "replay_requested_by": ""},
    )
    if len(held) != len(results):
        raise ClaimLost(sorted({r.delivery.pk for r in results} - held))
    attempts = []
    for r in results:
        attempts.append(
            Attempt(
                delivery_id=r.delivery.pk,
                number=r.delivery.attempts,
                started_at=r.delivery.claimed_at,
                finished_at=r.finished,
                duration_ms=r.duration_ms,
                outcome=r.outcome,
                error_class=type(r.error).__name__ if r.error is not None else "",
                error_message=r.message[:5000],
                traceback=r.trace,
                worker=r.delivery.claimed_by,
                replayed_by=r.delivery.replay_requested_by,
            )
        )
        if r.error is not None:
            rollups.record_error(
                DeliveryErrorGroup,
                {"source_id": r.delivery.source_id},
                type(r.error).__name__,
                r.message,
                r.finished,
                example_delivery_id=r.delivery.pk,
            )
    bulk.insert(attempts)
    transaction.on_commit(lambda: _count(results))


def _count(results: list[Result]) -> None:
    for r in results:
        ended = attempt_counts(r.outcome, replay=bool(r.delivery.replay_requested_by))
        counts.count(r.delivery.source_id, r.finished, latency_ms=r.duration_ms, **ended)


def _error_text(delivery, error) -> tuple[str, str]:
    """The error's message and traceback with the source's secrets redacted ("" without one)."""
    if error is None:
        return "", ""
    secrets = delivery.source.valid_secrets()
    return redact(str(error), secrets), redact(_traceback(error), secrets)


def _failure(delivery: Delivery, exc: Exception):
    if isinstance(exc, PermanentError):
        logger.warning("webhooks.process.permanent_error", extra={"delivery_id": delivery.pk})
        return S.DEAD, Attempt.Outcome.DEAD
    if delivery.tries > len(delivery.source.retry_delays()):
        logger.warning("webhooks.process.dead", extra={"delivery_id": delivery.pk})
        return S.DEAD, Attempt.Outcome.DEAD
    logger.info("webhooks.process.retrying", extra={"delivery_id": delivery.pk})
    return S.RETRYING, Attempt.Outcome.FAILED


def _delay(source, tries: int) -> float:
    """Full jitter: uniform in [0, step] for the step after ``tries`` attempts, time-scaled."""
    step = source.retry_delays()[tries - 1]
    return random.uniform(0, step) * settings.HUB_RETRY_TIME_SCALE  # noqa: S311 (not crypto)


def _schedule_retry(delivery_id: int, due) -> None:
    from .publisher import publish

    wait = (due - timezone.now()).total_seconds()
    if wait <= settings.HUB_RETRY_COUNTDOWN_MAX:
        publish([delivery_id], countdown=max(0.0, wait))


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-20000:]


def _event(delivery: Delivery) -> Event:
    source = delivery.source
    return Event(
        provider=delivery.provider,
        type=delivery.event_type,
        delivery_id=delivery.pk,
        external_id=delivery.external_id,
        payload=source.receiver.parse(bytes(delivery.body), delivery.headers_view()),
        source=source,
        connection=delivery.linked_connection,
        attempt=delivery.attempts,
    )
