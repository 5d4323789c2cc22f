"""The batch lookup as it was before it was made fast (``main`` at ae63740): the service
``records_lookup`` and its query, verbatim but for names. ``test_lookup_twin.py`` answers the
same requests through this path (the django-ninja operation calling this service) and through
today's (the hand-written view calling ``services.records_lookup``) and requires the same bytes,
headers and audit entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.core.errors import DomainError
from dagr.grants.fields import project_fields
from dagr.records import queries
from dagr.retrieval.access import (
    MAX_BATCH,
    MAX_VALUE_LENGTH,
    Caller,
    Records,
    _Access,
    _identifier_kind,
    _identifier_path,
    _identifier_value,
    _invalid,
    _is_well_formed,
    _served,
)


def _data(value: Any) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        return orjson.loads(value)
    return value


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def records_by_identifiers(
    *,
    dataset_id: int,
    path: str,
    key_path: str,
    values: Sequence[str],
    where: str,
    params: Sequence[Any],
) -> list[tuple[str, int, dict[str, Any]]]:
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


def records_lookup(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    field: str,
    values: list[Any],
    purpose: str = "",
) -> Records:
    access = _Access(caller, "record.lookup", dataset_code, permission_number, purpose)
    if isinstance(values, list):
        access.asked = [
            str(v).strip()[:MAX_VALUE_LENGTH]
            for v in values[:MAX_BATCH]
            if isinstance(v, str | int) and not isinstance(v, bool)
        ]
    try:
        dataset, grant = access.resolve()
        path = _identifier_path(dataset, field)
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_BATCH:
            raise _invalid(
                _("Give between 1 and %(max)s values.") % {"max": MAX_BATCH},
                "invalid_values",
                "values",
            )
        kind = _identifier_kind(dataset, path)
        sent: dict[str, str] = {}
        invalid: list[str] = []
        for n, v in enumerate(values):
            text = _identifier_value(v, f"values.{n}", kind)
            if _is_well_formed(kind, text):
                sent.setdefault(text, str(v).strip())
            elif str(v).strip() not in invalid:
                invalid.append(str(v).strip())
        wanted = list(sent)
        today = timezone.localdate()
        where, params = grant.where(column=queries.DATA_COLUMN, today=today)
        matched: dict[str, list[int]] = {}

        def query() -> list[dict[str, Any]]:
            by_id: dict[int, dict[str, Any]] = {}
            for value, pk, data in records_by_identifiers(
                dataset_id=dataset.id,
                path=path,
                key_path=dataset.key,
                values=wanted,
                where=where,
                params=params,
            ):
                matched.setdefault(value, []).append(pk)
                by_id[pk] = data
            order = dict.fromkeys(pk for value in wanted for pk in matched.get(value, []))
            return [by_id[pk] for pk in order]

        found = _served(access, grant, today, query)
    except DomainError as exc:
        access.refused(exc)
        raise
    return Records(
        [project_fields(d, grant.tree) for d in found],
        not_found=[sent[v] for v in wanted if v not in matched],
        invalid=invalid,
        fields=grant.fields,
    )
