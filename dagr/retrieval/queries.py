"""Hand-written SQL for the retrieval hot path: records of a dataset narrowed by a grant's SQL
condition, read straight from the records tables without the ORM.

This module reads ``records_record`` and ``records_recordidentifier`` directly — acceptable for
the measured hot path (style.md, convention 10): the ORM costs more than the lookup itself.
``tests/retrieval/test_queries.py`` compares every query with the ORM answer
(``dagr.records.selectors`` + ``grant.predicate``).

Identifier lookups: the dataset's key is always matched through ``records_record.key`` (unique
per dataset) — whether or not the loader also writes identifier rows for the key path — and
every other identifier path through ``records_recordidentifier`` joined to its record.

``where``/``params`` is a grant's condition fragment over the column ``r.data``
(``ActiveGrant.where(column=DATA_COLUMN)``); values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection

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
    condition, ordered by record id (at most ``limit``)."""
    if path == key_path:
        sql = (
            "SELECT r.id, r.data FROM records_record r "  # noqa: S608 - trusted fragment
            f"WHERE r.dataset_id = %s AND r.key = %s AND r.deleted_at IS NULL AND ({where})"
        )
        rows = _fetch(sql, [dataset_id, value, *params])
    else:
        sql = (
            "SELECT r.id, r.data FROM records_recordidentifier i "  # noqa: S608
            "JOIN records_record r ON r.id = i.record_id "
            "WHERE i.dataset_id = %s AND i.path = %s AND i.value = %s "
            f"AND r.deleted_at IS NULL AND ({where}) ORDER BY r.id LIMIT %s"
        )
        rows = _fetch(sql, [dataset_id, path, value, *params, limit])
    return [(pk, _data(data)) for pk, data in rows]


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
    identifier ``path`` and satisfying the condition; one query (``values`` ≤ 1000)."""
    if not values:
        return []
    marks = ", ".join(["%s"] * len(values))
    if path == key_path:
        sql = (
            "SELECT r.key, r.id, r.data FROM records_record r "  # noqa: S608
            f"WHERE r.dataset_id = %s AND r.key IN ({marks}) AND r.deleted_at IS NULL "
            f"AND ({where}) ORDER BY r.id"
        )
        rows = _fetch(sql, [dataset_id, *values, *params])
    else:
        sql = (
            "SELECT i.value, r.id, r.data FROM records_recordidentifier i "  # noqa: S608
            "JOIN records_record r ON r.id = i.record_id "
            f"WHERE i.dataset_id = %s AND i.path = %s AND i.value IN ({marks}) "
            f"AND r.deleted_at IS NULL AND ({where}) ORDER BY r.id"
        )
        rows = _fetch(sql, [dataset_id, path, *values, *params])
    return [(value, pk, _data(data)) for value, pk, data in rows]


def records_page(
    *,
    dataset_id: int,
    after_id: int,
    limit: int,
    where: str,
    params: Sequence[Any],
) -> list[Row]:
    """Up to ``limit`` live records with id > ``after_id`` satisfying ``where``, by id (keyset
    pagination: no gaps or duplicates while records are updated in place)."""
    sql = (
        "SELECT r.id, r.data FROM records_record r "  # noqa: S608 - trusted fragment
        f"WHERE r.dataset_id = %s AND r.deleted_at IS NULL AND r.id > %s AND ({where}) "
        "ORDER BY r.id LIMIT %s"
    )
    rows = _fetch(sql, [dataset_id, after_id, *params, limit])
    return [(pk, _data(data)) for pk, data in rows]
