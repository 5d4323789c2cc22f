"""Record sets: membership and the record set's change feed (``docs/change-feed.md``, "Record
sets").

Membership (``record_set_member``) = (no ``identifier_field``, or one of the record's values at
``identifier_field`` is watched) AND (the record satisfies ``conditions``). A set with an
identifier field but no watched values yet has no members. The feed is the grant's feed with
membership added to the "visible" test (``dagr.retrieval.services.records_changes``).

The watched values are cached per process under the record set's ``revision``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import orjson
from django.utils.translation import gettext_lazy as _

from dagr.catalog.schema import SchemaDef
from dagr.core.errors import Conflict, ValidationError
from dagr.grants.conditions import compile_predicate, validate_conditions
from dagr.grants.models import Grant
from dagr.grants.selectors import dataset_schema_of
from dagr.records.selectors import record_list_by_identifier
from dagr.retrieval.changes import ChangesPage, FeedEvent
from dagr.retrieval.services import DEFAULT_CHANGES, Caller, records_changes

from . import selectors
from .models import RecordSet, RecordSetEvent, RecordSetIdentifier

FEED_SCAN_MIN = 20_000
MAX_RECORDS_PER_VALUE = 1_000  # records reported for one added or removed value
FEED_SCAN_FACTOR = 20

Member = Callable[[dict[str, Any]], bool]


def _granted(path: str, grant: Grant) -> bool:
    return path in (grant.fields or [])


# --- membership and the record set's feed --------------------------------------------------------

_CACHE_MAX_VALUES = 2_000_000
# record set id → ((revision, created_at), values); created_at guards against a reused id
_cache: OrderedDict[int, tuple[tuple[int, Any], frozenset[str]]] = OrderedDict()
_cache_lock = threading.Lock()


def forget_values(record_set_id: int) -> None:
    with _cache_lock:
        _cache.pop(record_set_id, None)


def watched_values(record_set: RecordSet) -> frozenset[str]:
    """The record set's watched values, cached per process under (id, revision)."""
    token = (record_set.revision, record_set.created_at)
    with _cache_lock:
        hit = _cache.get(record_set.pk)
        if hit is not None and hit[0] == token:
            _cache.move_to_end(record_set.pk)
            return hit[1]
    values = frozenset(
        RecordSetIdentifier.objects.filter(record_set_id=record_set.pk)
        .values_list("value", flat=True)
        .iterator(chunk_size=10_000)
    )
    with _cache_lock:
        _cache[record_set.pk] = (token, values)
        _cache.move_to_end(record_set.pk)
        total = sum(len(v) for _r, v in _cache.values())
        while total > _CACHE_MAX_VALUES and len(_cache) > 1:
            _key, (_rev, evicted) = _cache.popitem(last=False)
            total -= len(evicted)
    return values


def _outdated() -> Conflict:
    return Conflict(
        _("The record set no longer fits the dataset's schema or your access grant (its "
          "identifier field or a condition uses a field you no longer receive). Change or "
          "delete the record set."),
        code="record_set_outdated",
    )  # fmt: skip


def _values_at(data: Any, parts: tuple[str, ...]) -> Iterator[str]:
    """The record's values at a field path as ``extract_identifiers`` reports them (strings;
    nested fields through lists of objects)."""
    if not isinstance(data, dict):
        return
    value = data.get(parts[0])
    if value is None:
        return
    if len(parts) == 1:
        yield str(value)
    elif isinstance(value, list):
        for item in value:
            yield from _values_at(item, parts[1:])


def record_set_member(
    record_set: RecordSet, *, schema: SchemaDef | None = None, today: date | None = None
) -> Member:
    """``member(record_data) -> bool`` for the record set (see the module docstring). Raises
    ``record_set_outdated`` when the definition no longer fits the schema or the grant."""
    schema = schema or dataset_schema_of(record_set.dataset)
    grant = record_set.grant
    tests: list[Member] = []
    if record_set.identifier_field:
        path = record_set.identifier_field
        if path not in dict(schema.identifier_paths()) or not _granted(path, grant):
            raise _outdated()
        values = watched_values(record_set)
        parts = tuple(path.split("."))
        if len(parts) == 1:
            name = parts[0]

            def listed(data: dict[str, Any]) -> bool:
                value = data.get(name)
                return value is not None and str(value) in values

        else:

            def listed(data: dict[str, Any]) -> bool:
                return any(v in values for v in _values_at(data, parts))

        tests.append(listed)
    if record_set.conditions:
        try:
            conditions = validate_conditions(record_set.conditions, schema)
        except ValidationError:
            raise _outdated() from None
        if not all(_granted(c.field, grant) for c in conditions):
            raise _outdated()
        tests.append(compile_predicate(conditions, today=today))
    if not tests:
        return lambda data: True
    if len(tests) == 1:
        return tests[0]
    first, second = tests

    def member(data: dict[str, Any]) -> bool:
        return first(data) and second(data)

    return member


def record_set_terms(record_set: RecordSet) -> str:
    """A stable digest of what decides membership apart from the watched values (adding a
    value does not invalidate cursors; changing the conditions does)."""
    document = orjson.dumps(
        {
            "record_set": record_set.pk,
            "identifier_field": record_set.identifier_field,
            "conditions": record_set.conditions,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(document, digest_size=8).hexdigest()


def record_set_changes(
    *,
    caller: Caller,
    record_set_id: int,
    cursor: str | None = None,
    limit: int = DEFAULT_CHANGES,
    purpose: str = "",
) -> ChangesPage:
    """One page of the record set's change feed: the grant's feed narrowed by membership,
    audited as ``record_set.changes``. A record set of another institution (or none):
    ``record_set_not_found``. Scans at most ``max(limit × 20, 20,000)`` change-log entries per
    call, so a narrow set may answer an empty page with ``has_more``."""
    record_set = (
        RecordSet.objects.select_related("dataset", "dataset__schema", "grant")
        .filter(pk=record_set_id, institution_id=caller.institution_id)
        .first()
        if isinstance(record_set_id, int) and not isinstance(record_set_id, bool)
        else None
    )
    if record_set is None:
        raise selectors.record_set_not_found()
    member = record_set_member(record_set)
    scan = max(limit * FEED_SCAN_FACTOR, FEED_SCAN_MIN) if isinstance(limit, int) else None
    return records_changes(
        caller=caller,
        dataset_code=record_set.dataset.code,
        permission_number=record_set.grant.permission_number,
        purpose=purpose,
        cursor=cursor,
        limit=limit,
        member=member,
        # a re-checked record's earlier state is judged by the set as of the re-check's day
        member_on=lambda day: record_set_member(record_set, today=day),
        terms=record_set_terms(record_set),
        operation="record_set.changes",
        scan_limit=scan,
        events=lambda after, count: _events(record_set, after, count),
        # from the beginning the log is replayed with today's watched values: the events so far
        # are already in it (a record watched now appears from its creation, a record no
        # longer watched not at all)
        first_event=_last_event_id(record_set) if not cursor else 0,
    )


def _last_event_id(record_set: RecordSet) -> int:
    last = (
        RecordSetEvent.objects.filter(record_set_id=record_set.pk)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return last or 0


def _events(record_set: RecordSet, after: int, count: int) -> list[FeedEvent]:
    """The set's membership events after event id ``after`` with the live records that have
    the value at the set's identifier field (``record_set_values`` writes the events)."""
    if not record_set.identifier_field:
        return []
    rows = list(
        RecordSetEvent.objects.filter(record_set_id=record_set.pk, pk__gt=after).order_by("pk")[
            :count
        ]
    )
    return [
        FeedEvent(
            id=row.pk,
            position=row.position,
            at=row.at,
            added=row.added,
            records=[
                (r.key, r.data)
                for r in record_list_by_identifier(
                    dataset=record_set.dataset, path=record_set.identifier_field, value=row.value
                )[:MAX_RECORDS_PER_VALUE]
            ],
        )
        for row in rows
    ]
