"""Claiming forwards, and the order of an ordering key's forwards (routing.forwarding's SQL).

``claim(ids, worker, now)`` takes what is claimable among a message's forward ids with
conditional UPDATEs (built once per message size) and returns the claimed rows with their
delivery, route and destination, loaded from one JOIN. An ordered forward is claimable only when
no earlier forward of its route and key is pending, retrying or held and no earlier delivery of
its route's source (or provider) is still waiting to be fanned out (received order); one left
waiting is marked ``parked``.

``next_of_key(forward)`` and ``heads(route_ids, after_delivery)`` say which waiting forwards an
outcome or a fan-out lets go ({forward id: destination id}). Raw SQL throughout: on a worker's
per-message path the ORM's compiling cost more than the statements' execution.
"""

from dataclasses import dataclass
from functools import cache, lru_cache

from django.db import connection

from connections.models import Connection
from core import bulk
from webhooks.models import Delivery

from .models import Destination, Forward, Route

F_ = Forward.Status
BLOCKING = (F_.PENDING, F_.RETRYING, F_.HELD)
"""Statuses of an earlier forward of the same ordering key that hold the later ones back."""


def claim(ids: list[int], worker: str, now) -> list[Forward]:
    """Claim what is claimable among ``ids`` with conditional UPDATEs: unordered forwards (most)
    with a plain one; ordered ones also need no earlier forward of their key pending, retrying
    or held, and no earlier delivery of their route's source (or provider) still waiting to be
    fanned out (it may become an earlier forward of the key: received order). Ordered forwards
    left waiting are marked ``parked`` (whoever unblocks them republishes parked ones), then
    asked once more: a blocker that finished between the two statements saw nothing parked
    and republished nothing. Returns the claimed rows (fenced by this worker and this claim's
    time). The SQL is built once per message size (the ORM's compiling of the ordered UPDATE
    cost more than its execution)."""
    sql = _claim_statements(len(ids))
    params = [*_claim_values(worker, now), *ids, *_claimable_values(now)]
    with connection.cursor() as cursor:
        cursor.execute(sql.unordered, params)
        won = cursor.rowcount
        if won < len(ids):
            ordered = [*params, *_waiting_values()]
            cursor.execute(sql.ordered, ordered)
            won += cursor.rowcount
            cursor.execute(sql.park, [True, *ids, *_claimable_values(now), False])
            if cursor.rowcount:
                cursor.execute(sql.ordered, ordered)
                won += cursor.rowcount
    if not won:
        return []
    return _claimed(ids, worker, now)


def _claimed(ids: list[int], worker: str, now) -> list[Forward]:
    """The rows this claim holds, with their delivery, route and destination, in one SELECT;
    one Destination instance per destination (its secret decrypted once a message)."""
    params = [*ids, worker, _claim_values(worker, now)[0]]
    with connection.cursor() as cursor:
        cursor.execute(_claimed_sql(len(ids)), params)
        rows = cursor.fetchall()
    models = (Forward, Delivery, Route, Destination)
    bounds = [0]
    for model in models:
        bounds.append(bounds[-1] + bulk.width(model))
    destinations: dict[int, Destination] = {}
    claimed = []
    for row in rows:
        forward, delivery, route = (
            bulk.load(model, row[bounds[i] : bounds[i + 1]]) for i, model in enumerate(models[:3])
        )
        if forward.destination_id not in destinations:
            destination = bulk.load(Destination, row[bounds[3] : bounds[4]])
            if destination.connection_id is not None:
                destination.connection = Connection.objects.get(pk=destination.connection_id)
            destinations[forward.destination_id] = destination
        forward.delivery, forward.route = delivery, route
        forward.destination = destinations[forward.destination_id]
        claimed.append(forward)
    return claimed


@lru_cache(maxsize=64)
def _claimed_sql(n: int) -> str:
    fw, dl, rt, ds = (m._meta.db_table for m in (Forward, Delivery, Route, Destination))
    select = ", ".join(
        bulk.columns(model, alias)
        for model, alias in ((Forward, "f"), (Delivery, "d"), (Route, "r"), (Destination, "t"))
    )
    return (
        f"SELECT {select} FROM {fw} f JOIN {dl} d ON d.id = f.delivery_id "  # noqa: S608
        f"JOIN {rt} r ON r.id = f.route_id JOIN {ds} t ON t.id = f.destination_id "
        f"WHERE f.id IN ({bulk.placeholders(n)}) AND f.claimed_by = %s AND f.claimed_at = %s "
        "ORDER BY f.id"
    )


@dataclass(frozen=True)
class _ClaimSQL:
    unordered: str
    ordered: str
    park: str


def _claim_values(worker: str, now) -> list:
    claimed_at = Forward._meta.get_field("claimed_at").get_db_prep_value(now, connection)
    return [claimed_at, worker, False]


def _claimable_values(now) -> list:
    due = Forward._meta.get_field("next_attempt_at").get_db_prep_value(now, connection)
    return [F_.PENDING, F_.RETRYING, due]


def _waiting_values() -> list:
    return [*BLOCKING, Delivery.Status.QUEUED, Delivery.Status.PROCESSING]


_WAITING = (
    " AND NOT EXISTS (SELECT 1 FROM {fw} e WHERE e.route_id = {fw}.route_id"
    " AND e.ordering_key = {fw}.ordering_key AND e.delivery_id < {fw}.delivery_id"
    " AND e.status IN (%s, %s, %s))"
    " AND NOT EXISTS (SELECT 1 FROM {dl} d JOIN {rt} r ON r.id = {fw}.route_id"
    " WHERE d.status IN (%s, %s) AND d.id < {fw}.delivery_id"
    " AND (d.source_id = r.source_id OR d.provider = r.provider)"
    " AND NOT EXISTS (SELECT 1 FROM {fw} x WHERE x.delivery_id = d.id"
    " AND x.route_id = {fw}.route_id))"
)
"""What holds an ordered forward back (parameters: _waiting_values), correlated on the row of
{fw} being claimed or looked at: an earlier forward of its route and key still waiting, or an
earlier delivery of its route's source (or provider) not fanned out yet. The delivery probe
walks the partial index webhooks_dl_unfinished from the oldest unfinished delivery, not the
whole backlog; the forward probe the partial index routing_fw_key_waiting."""


def _names(n: int = 0) -> dict:
    """Table names (from the models' meta) and ``n`` placeholders, for the templates here."""
    return {
        "fw": Forward._meta.db_table,
        "dl": Delivery._meta.db_table,
        "rt": Route._meta.db_table,
        "ids": bulk.placeholders(n),
    }


@lru_cache(maxsize=64)
def _claim_statements(n: int) -> _ClaimSQL:
    """The claim's three statements for a message of ``n`` ids (parameters: _claim_values,
    the ids, _claimable_values, then _waiting_values for the ordered one). Table names come
    from the models' meta; every value is a parameter. ``status || ''``: the rows are found by
    primary key alone, never AND-ed with the status index, whose entries of every forward ever
    pending outlive them until a vacuum (webhooks.processing._claim measured it: 13 ms a claim
    against 0.1 ms)."""
    names = _names(n)
    claimable = (
        "WHERE id IN ({ids}) AND status || '' IN (%s, %s) AND claimed_at IS NULL"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"
    )
    claim = (
        "UPDATE {fw} SET claimed_at = %s, claimed_by = %s, attempts = attempts + 1, parked = %s "
    )
    park = "UPDATE {fw} SET parked = %s " + claimable + " AND ordering_key <> '' AND parked = %s"  # noqa: S608
    return _ClaimSQL(
        unordered=(claim + claimable + " AND ordering_key = ''").format(**names),
        ordered=(claim + claimable + " AND ordering_key <> ''" + _WAITING).format(**names),
        park=park.format(**names),
    )


def next_of_key(forward: Forward) -> dict[int, int]:
    """The next forward of the same route and ordering key (in received order), if one waits:
    {its id: its destination id}. Raw SQL on the partial index routing_fw_key_waiting (every
    ordered outcome asks it; the ORM's compiling cost more than the query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _next_of_key_sql(),
            [forward.route_id, forward.ordering_key, forward.delivery_id, F_.PENDING,
             F_.RETRYING],
        )  # fmt: skip
        return dict(cursor.fetchall())


@cache
def _next_of_key_sql() -> str:
    select = (
        "SELECT id, destination_id FROM {fw} WHERE route_id = %s AND ordering_key = %s"
        " AND delivery_id > %s AND status IN (%s, %s) ORDER BY delivery_id LIMIT 1"
    )
    return select.format(**_names())


def heads(route_ids, after_delivery: int) -> dict[int, int]:
    """The parked forwards of these ordered routes, among deliveries later than
    ``after_delivery``, that a fan-out of that delivery may have unblocked: no earlier forward
    of their key still waiting, and no earlier delivery of their route's source (or provider)
    still unfanned. Only those: waking every parked head on every fan-out made each forward
    claimed (and parked again) several times over at 200 deliveries/s. Returns {forward id:
    destination id}."""
    found: dict[int, int] = {}
    with connection.cursor() as cursor:
        for route_id in sorted(route_ids):
            cursor.execute(
                _heads_sql(),
                [route_id, True, F_.PENDING, F_.RETRYING, after_delivery, *_waiting_values()],
            )  # fmt: skip
            found.update(cursor.fetchall())
    return found


@cache
def _heads_sql() -> str:
    """Parameters: route id, True, the two claimable statuses, the delivery id after which to
    look, then _waiting_values."""
    select = (
        "SELECT id, destination_id FROM {fw} WHERE route_id = %s AND parked = %s"
        " AND claimed_at IS NULL"
        " AND status IN (%s, %s) AND ordering_key <> '' AND delivery_id > %s"
    )
    return (select + _WAITING + " ORDER BY id LIMIT 500").format(**_names())
