"""Writing many rows in one statement.

``update_from_values(model, fields, rows, fence=..., constants=...)`` sets, for each row, its own
values of ``fields`` (plus ``constants``, the same for every row) with one
``WITH v(...) AS (VALUES ...) UPDATE ... FROM v ... RETURNING`` and returns the primary keys of
the rows it changed: those that still held ``fence`` (such as "still claimed by me").
PostgreSQL and SQLite (3.35 or newer: ``UPDATE ... FROM`` and ``RETURNING``) run the same
statement. Django's ``bulk_update`` builds a ``CASE`` per field and row instead and cost a
third to a half of a delivery's or a forward's CPU in the benchmarks.

``insert(objs)`` writes unsaved instances of one model with one multi-row INSERT, whose SQL
``insert_sql`` builds once per process and shape (the ingest INSERT uses it too).

``columns(model, alias)`` and ``load(model, values)``: a raw SELECT of several models' columns
(one JOIN instead of ``select_related``, whose compiling costs more than its execution on a
worker's per-message path) and the instances built from each model's slice of a row, with the
fields' and the backend's converters applied as the ORM would.

``fetch_bound(connection, sql, params)`` runs a statement and returns its rows; on PostgreSQL
with the parameters bound by the server (see its docstring). Both writers above use it.
"""

from functools import cache, lru_cache

import psycopg
from django.db import connection, connections


def update_from_values(model, fields, rows, *, fence=None, constants=None) -> set:
    """``rows``: (pk, value of each of ``fields``...) tuples. ``fence``: {field: value} a row
    must still hold to be changed (e.g. this worker's claim). ``constants``: {field: value}
    set on every row. Values are prepared by their fields (``get_db_prep_value``)
    and cast to the column type on PostgreSQL (a VALUES list has no types of its own).

    The fence is tested with ``IS NOT DISTINCT FROM``, which no index serves, so the rows are
    found by primary key from the VALUES alone. With ``=``, PostgreSQL AND-ed a partial index
    of unfinished deliveries with the status index to test ``status = 'processing'``; both keep
    an entry for every row that passed through until a vacuum, and under a backlog of 36,000
    deliveries the outcome UPDATE of one message read 9,700 heap pages (25 ms) where the
    primary key reads 20 rows."""
    if not rows:
        return set()
    opts = model._meta
    pk = opts.pk
    columns = [pk] + [opts.get_field(name) for name in fields]
    postgres = connection.vendor == "postgresql"
    cells = ", ".join(f"%s::{c.db_type(connection)}" if postgres else "%s" for c in columns)
    values = ", ".join([f"({cells})"] * len(rows))
    values_params = [
        column.get_db_prep_value(value, connection)
        for row in rows
        for column, value in zip(columns, row, strict=True)
    ]
    names = ["_pk"] + [f"_{c.column}" for c in columns[1:]]
    assignments = [f"{c.column} = v.{name}" for c, name in zip(columns[1:], names[1:], strict=True)]
    constant_params = []
    for name, value in (constants or {}).items():
        field = opts.get_field(name)
        assignments.append(f"{field.column} = %s")
        constant_params.append(field.get_db_prep_value(value, connection))
    where, fence_params = [f"t.{pk.column} = v._pk"], []
    for name, value in (fence or {}).items():
        field = opts.get_field(name)
        where.append(f"t.{field.column} IS NOT DISTINCT FROM %s")
        fence_params.append(field.get_db_prep_value(value, connection))
    qn = connection.ops.quote_name
    # Names come from the model's meta and every value is a parameter.
    sql = (
        f"WITH v ({', '.join(names)}) AS (VALUES {values}) "  # noqa: S608
        f"UPDATE {qn(opts.db_table)} AS t SET {', '.join(assignments)} FROM v "
        f"WHERE {' AND '.join(where)} RETURNING {pk.column}"
    )
    rows = fetch_bound(connection, sql, [*values_params, *constant_params, *fence_params])
    return {row[0] for row in rows}


def insert(objs, *, skip_conflicts: bool = False) -> list[int]:
    """One multi-row INSERT of unsaved instances of one model (Django's ``bulk_create``
    compiles per call what ``insert_sql`` builds once: 0.6 ms a message). Field defaults and
    ``auto_now_add`` apply as in ``save()`` (``pre_save``). ``skip_conflicts``: rows that
    would break a unique constraint are left out (``ON CONFLICT DO NOTHING``) and the ids of
    those written are returned, in no promised order; otherwise nothing is returned."""
    if not objs:
        return []
    sql, fields = insert_sql(
        type(objs[0]), connection.alias, len(objs), returning=skip_conflicts,
        skip_conflicts=skip_conflicts,
    )  # fmt: skip
    params = [
        f.get_db_prep_save(f.pre_save(obj, add=True), connection) for obj in objs for f in fields
    ]
    written = fetch_bound(connection, sql, params, rows=skip_conflicts)
    return [row[0] for row in written]


def upsert(objs, *, unique_fields: tuple[str, ...], update_fields: tuple[str, ...]) -> None:
    """One multi-row ``INSERT ... ON CONFLICT (unique_fields) DO UPDATE`` of ``update_fields``
    from the new rows: Django's ``bulk_create(update_conflicts=True)`` (the same SQL on
    PostgreSQL and SQLite) without compiling it on every call (0.3 ms a call)."""
    if not objs:
        return
    sql, fields = insert_sql(
        type(objs[0]),
        connection.alias,
        len(objs),
        upsert=(tuple(unique_fields), tuple(update_fields)),
    )
    params = [
        f.get_db_prep_save(f.pre_save(obj, add=True), connection) for obj in objs for f in fields
    ]
    fetch_bound(connection, sql, params, rows=False)


@cache
def insert_sql(
    model, alias: str, rows: int, returning: bool = False, skip_conflicts=False, upsert=None
):
    """``(sql, fields)``: an INSERT of ``rows`` rows of every concrete field but the primary key
    (``RETURNING`` it when asked; ``ON CONFLICT DO NOTHING`` when asked, or ``ON CONFLICT
    (unique) DO UPDATE SET`` the fields of ``upsert = (unique, update)`` field names, from the
    new row; PostgreSQL and SQLite alike), built once per process and shape."""
    qn = connections[alias].ops.quote_name
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    row = f"({', '.join(['%s'] * len(fields))})"
    # Identifiers come from the model's meta, quoted; values are always parameters.
    sql = (
        f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)}"
    )
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    elif upsert:
        unique, update = ([qn(opts.get_field(name).column) for name in names] for names in upsert)
        sets = ", ".join(f"{column} = EXCLUDED.{column}" for column in update)
        sql += f" ON CONFLICT ({', '.join(unique)}) DO UPDATE SET {sets}"
    if returning:
        sql += f" RETURNING {qn(opts.pk.column)}"
    return sql, fields


def placeholders(count: int) -> str:
    """``%s, %s, ...``: the parameters of an ``IN (...)`` list of ``count`` values."""
    return ", ".join(["%s"] * count)


def fetch_bound(conn, sql: str, params, rows: bool = True) -> list[tuple]:
    """Run ``sql`` (``%s`` placeholders, no other ``%``) on Django connection ``conn`` and
    return its rows, database errors raised as Django's (IntegrityError, DataError, ...).

    On PostgreSQL the parameters are bound by the server (psycopg's ``RawCursor``, with the
    ``$n`` text made once per statement): Django's client-side cursor renders every value into
    the SQL text and, for a statement of more than 50 parameters (a multi-row INSERT), parses
    that text again on every call, which cost the ingest endpoint a seventh of its CPU. The
    server also keeps the statement prepared after a few runs (psycopg's prepare_threshold).
    Bypasses Django's query logging (``connection.queries``) like any raw cursor of psycopg.
    ``rows=False``: a statement that returns none (an INSERT without RETURNING)."""
    if conn.vendor != "postgresql":
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else []
    conn.close_if_health_check_failed()  # as Django's cursor() does (CONN_HEALTH_CHECKS)
    conn.ensure_connection()
    with conn.wrap_database_errors, psycopg.RawCursor(conn.connection) as cursor:
        cursor.execute(_dollar_placeholders(sql), params)
        return cursor.fetchall() if rows else []


@lru_cache(maxsize=256)
def _dollar_placeholders(sql: str) -> str:
    parts = sql.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


def columns(model, table_alias: str) -> str:
    """``alias."col", ...`` for every concrete field of ``model``, in ``load``'s order."""
    qn = connection.ops.quote_name
    return ", ".join(f"{table_alias}.{qn(f.column)}" for f in model._meta.concrete_fields)


def width(model) -> int:
    """How many values of a row ``columns(model, ...)`` selects."""
    return len(model._meta.concrete_fields)


def load(model, values):
    """An instance of ``model`` from the values ``columns(model, ...)`` selected, converted as
    the ORM converts them (JSON decoded, secrets decrypted, SQLite's text dates parsed)."""
    values = list(values)
    for index, converters, col in _converters(model, connection.alias):
        if values[index] is not None:
            for convert in converters:
                values[index] = convert(values[index], col, connection)
    return model.from_db(connection.alias, _attnames(model), values)


@cache
def _attnames(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


@cache
def _converters(model, alias: str) -> list:
    conn = connections[alias]
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        converters = conn.ops.get_db_converters(col) + field.get_db_converters(conn)
        if converters:
            found.append((index, converters, col))
    return found
