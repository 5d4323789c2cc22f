"""Hand-written SQL over the records tables (``records_record``, ``records_recordidentifier``,
``records_recordversion``, ``records_change``), kept here with the tables it reads — the
measured hot paths of ``dagr.retrieval`` call it (style.md, convention 10: the ORM costs more
than the lookup itself). ``tests/records/test_queries.py`` compares every query with the ORM
answer (``dagr.records.selectors`` + the grant's Python predicate) on SQLite and PostgreSQL.

Identifier lookups: the dataset's key is always matched through ``records_record.key`` (unique
per dataset) — whether or not the loader also writes identifier rows for the key path — and
every other identifier path through ``records_recordidentifier`` joined to its record.

``where``/``params`` is a condition fragment over the column ``r.data`` (a grant's
``ActiveGrant.where(column=DATA_COLUMN)`` or ``dagr.grants.conditions.to_sql``); values always
travel as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections

from dagr.core.db.prepared import fetch_direct, fetch_prepared

DATA_COLUMN = "r.data"
Row = tuple[int, dict[str, Any]]


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value  # a driver that already decodes JSON


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


_GET_SQL: dict[tuple[bool, str], str] = {}


def _get_sql(by_key: bool, where: str) -> str:
    """The text of ``records_by_identifier``'s statement, once per (path kind, condition
    fragment): the same string object on every call (a grant's fragment changes at most
    daily), so the driver path finds its converted form at once."""
    key = (by_key, where)
    sql = _GET_SQL.get(key)
    if sql is None:
        if by_key:
            sql = (
                "SELECT r.id, r.data FROM records_record r "  # noqa: S608 - trusted fragment
                f"WHERE r.dataset_id = %s AND r.key = %s AND r.deleted_at IS NULL AND ({where})"
            )
        else:
            sql = (
                "SELECT r.id, r.data FROM records_recordidentifier i "  # noqa: S608
                "JOIN records_record r ON r.id = i.record_id "
                "WHERE i.dataset_id = %s AND i.path = %s AND i.value = %s "
                f"AND r.deleted_at IS NULL AND ({where}) ORDER BY r.id LIMIT %s"
            )
        if len(_GET_SQL) > 4096:
            _GET_SQL.clear()
        _GET_SQL[key] = sql
    return sql


def records_by_identifier(
    *,
    dataset_id: int,
    path: str,
    key_path: str,
    value: str,
    where: str,
    params: Sequence[Any],
    limit: int = 1000,
) -> list[Row]:
    """Live records of the dataset with ``value`` in identifier ``path`` that satisfy the
    condition, ordered by record id (at most ``limit``). Through the driver's own connection
    (``fetch_direct``: prepared on PostgreSQL, without Django's cursor wrapper on SQLite) —
    the GET-by-identifier hot path. The default connection is looked up once (each attribute
    read through the ``connection`` proxy looks it up again)."""
    db = connections[DEFAULT_DB_ALIAS]
    if path == key_path:
        rows = fetch_direct(db, _get_sql(True, where), [dataset_id, value, *params])
    else:
        rows = fetch_direct(db, _get_sql(False, where), [dataset_id, path, value, *params, limit])
    return [(pk, _data(data)) for pk, data in rows]


# A batch's SQL differs only in the number of values: built once per (path kind, count, condition
# fragment, database) and kept, in the driver's own placeholder style. Bounded: a grant's
# fragment changes at most daily, the counts are 1…1000.
_BATCH_SQL: dict[tuple[bool, int, str, str], str] = {}
_QMARK = re.compile(r"(?<!%)%s")  # Django's own "format" → "qmark" conversion (sqlite3 backend)


def _batch_sql(by_key: bool, count: int, where: str, vendor: str) -> str:
    key = (by_key, count, where, vendor)
    sql = _BATCH_SQL.get(key)
    if sql is None:
        if vendor == "postgresql":  # one JSON text parameter: see ``records_by_identifiers``
            match = "= ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))"
        else:
            match = f"IN ({', '.join(['%s'] * count)})"
        if by_key:
            sql = (
                "SELECT r.key, r.id, r.data FROM records_record r "  # noqa: S608
                f"WHERE r.dataset_id = %s AND r.key {match} AND r.deleted_at IS NULL "
                f"AND ({where}) ORDER BY r.id"
            )
        else:
            sql = (
                "SELECT i.value, r.id, r.data FROM records_recordidentifier i "  # noqa: S608
                "JOIN records_record r ON r.id = i.record_id "
                f"WHERE i.dataset_id = %s AND i.path = %s AND i.value {match} "
                f"AND r.deleted_at IS NULL AND ({where}) ORDER BY r.id"
            )
        if vendor == "sqlite":
            sql = _QMARK.sub("?", sql).replace("%%", "%")
        if len(_BATCH_SQL) > 4096:
            _BATCH_SQL.clear()
        _BATCH_SQL[key] = sql
    return sql


BATCH_CHUNK = 1000


def _json_array(values: list[str]) -> str:
    """The values as one JSON array (PostgreSQL): psycopg adapts a list parameter element by
    element in Python, ~3× the client CPU of one text parameter that orjson writes."""
    try:
        return orjson.dumps(values).decode()
    except orjson.JSONEncodeError:  # a lone surrogate: the driver's own encoding error
        return orjson.dumps([value.encode().decode() for value in values]).decode()


def records_by_identifiers(
    *,
    dataset_id: int,
    path: str,
    key_path: str,
    values: Sequence[str],
    where: str,
    params: Sequence[Any],
) -> list[tuple[str, int, dict[str, Any]]]:
    """``(matched value, record id, data)`` for every live record having one of ``values`` in
    identifier ``path`` and satisfying the condition, ordered by record id; one query per
    ``BATCH_CHUNK`` values. Run through the driver's own cursor: Django's wrapper rewrites the
    placeholders of the ~1,000-value statement on every call and wraps each row fetch — on the
    batch lookup's hot path (``docs/performance.md``) for nothing (errors are still Django's,
    through ``wrap_database_errors``)."""
    if not values:
        return []
    by_key = path == key_path
    vendor = connection.vendor
    head: list[Any] = [dataset_id] if by_key else [dataset_id, path]
    connection.ensure_connection()
    out: list[tuple[str, int, dict[str, Any]]] = []
    loads = orjson.loads
    with connection.wrap_database_errors:
        for start in range(0, len(values), BATCH_CHUNK):
            chunk = list(values[start : start + BATCH_CHUNK])
            sql = _batch_sql(by_key, len(chunk), where, vendor)
            if vendor == "postgresql":  # the same text for every chunk: prepared once
                rows = fetch_prepared(connection, sql, [*head, _json_array(chunk), *params])
            else:
                cursor = connection.connection.cursor()
                try:
                    cursor.execute(sql, [*head, *chunk, *params])
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
            out.extend(
                (value, pk, loads(data) if isinstance(data, str | bytes) else data)
                for value, pk, data in rows
            )
    if len(values) > BATCH_CHUNK:  # chunks each in id order: the whole answer too
        out.sort(key=lambda row: row[1])
    return out


def records_page(
    *,
    dataset_id: int,
    after_id: int,
    limit: int,
    where: str,
    params: Sequence[Any],
) -> list[Row]:
    """Up to ``limit`` live records with id > ``after_id`` satisfying ``where``, by id (keyset
    pagination: no gaps or duplicates while records are updated in place).

    On SQLite the page walks the primary key within the dataset's ids (``record_id_bounds``), as
    ``record_texts_page`` does: with the (dataset, key) index SQLite read and sorted every live
    record after the cursor — evaluating the grant's conditions on each — for every page
    (``USE TEMP B-TREE FOR ORDER BY``; 209 ms a page of a 50,000-record dataset, against 5 ms)."""
    if connection.vendor == "sqlite":
        bounds = record_id_bounds(dataset_id)
        if bounds is None or bounds[1] is None or after_id >= bounds[1]:
            return []
        sql = (
            "SELECT r.id, r.data FROM records_record r "  # noqa: S608 - trusted fragment
            "WHERE +r.dataset_id = %s AND r.deleted_at IS NULL AND r.id > %s AND r.id <= %s "
            f"AND ({where}) ORDER BY r.id LIMIT %s"
        )
        rows = _fetch(sql, [dataset_id, max(after_id, bounds[0]), bounds[1], *params, limit])
        return [(pk, _data(data)) for pk, data in rows]
    sql = (
        "SELECT r.id, r.data FROM records_record r "  # noqa: S608 - trusted fragment
        f"WHERE r.dataset_id = %s AND r.deleted_at IS NULL AND r.id > %s AND ({where}) "
        "ORDER BY r.id LIMIT %s"
    )
    rows = _fetch(sql, [dataset_id, after_id, *params, limit])
    return [(pk, _data(data)) for pk, data in rows]


def record_texts_page(
    *, dataset_id: int, after_id: int, limit: int, upto_id: int | None = None
) -> list[tuple[int, str]]:
    """Up to ``limit`` live records of the dataset with ``after_id`` < id (≤ ``upto_id``), by
    id, as ``(id, JSON text)`` — for walking a whole dataset (``selectors.live_record_batches``
    with ``record_id_bounds``); the caller decodes the text, or passes it on (the anonymisation
    workers parse it themselves).

    On SQLite the query walks the primary key: ``+r.dataset_id`` keeps SQLite from using the
    unique (dataset, key) index, with which it sorted every live record of the dataset for
    each page (``USE TEMP B-TREE FOR ORDER BY``: quadratic — a 1 M-record dataset took more
    than 30 minutes to read); the bounds keep the walk inside the dataset's ids.
    PostgreSQL plans the plain query well (no hint there)."""
    upto = "" if upto_id is None else " AND r.id <= %s"
    bound = [] if upto_id is None else [upto_id]
    if connection.vendor == "postgresql":
        sql = (
            "SELECT r.id, r.data::text FROM records_record r "  # noqa: S608 - fixed fragments
            f"WHERE r.dataset_id = %s AND r.deleted_at IS NULL AND r.id > %s{upto} "
            "ORDER BY r.id LIMIT %s"
        )
    else:
        sql = (
            "SELECT r.id, r.data FROM records_record r "  # noqa: S608 - fixed fragments
            f"WHERE +r.dataset_id = %s AND r.deleted_at IS NULL AND r.id > %s{upto} "
            "ORDER BY r.id LIMIT %s"
        )
    return _fetch(sql, [dataset_id, after_id, *bound, limit])


def record_id_bounds(dataset_id: int) -> tuple[int, int | None] | None:
    """Where a walk of the dataset by id starts and ends: ``(after, upto)`` for
    ``record_texts_page``, ``None`` when the dataset has no record. On SQLite the smallest and
    largest id of its records (read from the (dataset, key) index alone), so that the walk by
    primary key neither reads the table's rows before the dataset's first record nor after its
    last (records created after the walk started are then not read); elsewhere unbounded."""
    if connection.vendor != "sqlite":
        return 0, None
    rows = _fetch("SELECT min(id), max(id) FROM records_record WHERE dataset_id = %s", [dataset_id])
    low, high = rows[0]
    if low is None:
        return None
    return int(low) - 1, int(high)


# --- the change feed ---------------------------------------------------------------------------

_CHANGES_SQL = (
    "SELECT c.seq, c.record_key, c.operation, c.at, c.load_id, "
    "CASE WHEN r.version = c.version THEN r.data ELSE vn.data END, vp.data "
    "FROM records_change c "
    "JOIN records_record r ON r.id = c.record_id "
    "LEFT JOIN records_recordversion vn "
    "ON vn.record_id = c.record_id AND vn.version = c.version AND r.version <> c.version "
    "LEFT JOIN records_recordversion vp "
    "ON c.operation = 'updated' AND vp.record_id = c.record_id AND vp.version = c.version - 1 "
    "WHERE c.dataset_id = %s AND c.seq > %s ORDER BY c.seq LIMIT %s"
)


def changes_after(*, dataset_id: int, after: int, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` change-log entries of the dataset with ``seq > after``, in order:
    ``(seq, record key, operation, at, load id, data after, data before)`` — "after" is the
    data of the version the entry made (the record's current data when it is still that
    version; a deleted record keeps its data), "before" the version an ``updated`` entry
    superseded (else ``None``). JSON columns come raw (text on SQLite): decode with ``_data``."""
    return _fetch(_CHANGES_SQL, [dataset_id, after, limit])


# --- the daily re-check of relative-date conditions -----------------------------------------


def records_judged_differently(
    *,
    dataset_id: int,
    before: str,
    before_params: Sequence[Any],
    after: str,
    after_params: Sequence[Any],
) -> set[int]:
    """Ids of live records of the dataset for which the condition fragment ``before`` and the
    fragment ``after`` (over ``r.data``) disagree."""
    sql = (
        "SELECT r.id FROM records_record r "  # noqa: S608 - the engine's own fragments
        "WHERE r.dataset_id = %s AND r.deleted_at IS NULL "
        f"AND (CASE WHEN ({before}) THEN 1 ELSE 0 END) "
        f"<> (CASE WHEN ({after}) THEN 1 ELSE 0 END)"
    )
    return {pk for (pk,) in _fetch(sql, [dataset_id, *before_params, *after_params])}
