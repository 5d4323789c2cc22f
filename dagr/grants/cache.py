"""The per-process cache of grant definitions: the retrieval API's hot path asks
``grant_active_for`` on every request without querying the grants table.

- Each process keeps a map ``(recipient id, dataset id, permission number) → ActiveGrant`` of
  every approved or revoked grant that has a permission number, with its conditions validated
  against the dataset's current schema and its field tree built — one query loads all of them.
- The map is reloaded at most every ``REFRESH_S`` seconds, and at once (on commit) in the
  process that changed a grant (``grant_cache.invalidate`` from every grant service) or a schema.
- Staleness bound across processes: a grant approved, narrowed or revoked in another process
  takes effect everywhere within ``REFRESH_S`` seconds; immediately in the process that changed
  it. A lookup that misses (an unknown permission number — perhaps a grant approved a moment
  ago elsewhere) reloads early, but at most once every ``MISS_RELOAD_S`` seconds, so callers
  sending bad numbers cannot turn every request into a query.
- Dates (validity, "older than") are evaluated at lookup time, not at load time, so a grant
  expires at midnight even if the map was loaded before.
- Use counts and the daily quota are not cached: ``services.grant_use_register`` counts in the
  database (one conditional UPDATE per request).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dagr.catalog.schema import parse_schema
from dagr.core.cache import RefreshedMap
from dagr.core.errors import ValidationError

from .conditions import Condition, compile_predicate, local_today, to_sql, validate_conditions
from .fields import FieldTree, field_tree

logger = logging.getLogger(__name__)

REFRESH_S = 10.0
MISS_RELOAD_S = 1.0

Key = tuple[int, int, str]


@dataclass(frozen=True)
class ActiveGrant:
    """An approved (or revoked) grant as the hot path needs it. Immutable and shared."""

    id: int
    recipient_id: int
    dataset_id: int
    permission_number: str
    status: str
    fields: tuple[str, ...]
    conditions: tuple[Condition, ...]
    valid_from: date | None
    valid_until: date | None
    quota: int | None
    purpose: str
    valid_schema: bool = True
    tree: FieldTree = field(default_factory=dict, compare=False)
    # ``where`` compiled once per (column, vendor, day): the conditions never change for this
    # object (a changed grant is a new object) and their thresholds only with the date.
    _compiled: dict[tuple[str, str, date], tuple[str, tuple[Any, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def predicate(self, *, today: date | None = None) -> Any:
        """``predicate(record_data) -> bool`` for this evaluation (thresholds from ``today``)."""
        return compile_predicate(self.conditions, today=today)

    def where(
        self, *, column: str, vendor: str | None = None, today: date | None = None
    ) -> tuple[str, list[Any]]:
        """The conditions as a SQL WHERE fragment over ``column`` (see ``conditions.to_sql``),
        compiled once per column, database and day."""
        if vendor is None:
            from django.db import connection

            vendor = connection.vendor
        day = today or local_today()
        key = (column, vendor, day)
        compiled = self._compiled.get(key)
        if compiled is None:
            sql, params = to_sql(self.conditions, column=column, vendor=vendor, today=day)
            if len(self._compiled) > 16:  # old days
                self._compiled.clear()
            compiled = self._compiled[key] = (sql, tuple(params))
        return compiled[0], list(compiled[1])


class GrantCache:
    """The map of active grants (``dagr.core.cache.RefreshedMap``), looked up by its three parts."""

    def __init__(self) -> None:
        self._map: RefreshedMap[Key, ActiveGrant] = RefreshedMap(
            load_active_grants, refresh_s=REFRESH_S, miss_reload_s=MISS_RELOAD_S
        )

    @property
    def loads(self) -> int:
        return self._map.loads

    def invalidate(self) -> None:
        self._map.invalidate()

    def get(self, recipient_id: int, dataset_id: int, permission_number: str) -> ActiveGrant | None:
        return self._map.get((recipient_id, dataset_id, permission_number))


def load_active_grants() -> dict[Key, ActiveGrant]:
    # Here, not at the top: grants.selectors reads this cache (ActiveGrant, grant_cache).
    from .selectors import grants_issued

    rows = (
        grants_issued()
        .select_related("dataset__schema")
        .only(
            "id",
            "recipient_id",
            "dataset_id",
            "permission_number",
            "status",
            "fields",
            "conditions",
            "valid_from",
            "valid_until",
            "quota",
            "purpose",
            "dataset__schema__definition",
        )
    )
    schemas: dict[int, Any] = {}
    out: dict[Key, ActiveGrant] = {}
    for g in rows:
        valid = True
        conditions: list[Condition] = []
        try:
            if g.dataset_id not in schemas:
                definition = g.dataset.schema.definition if g.dataset.schema else None
                schemas[g.dataset_id] = parse_schema(definition) if definition else None
            schema = schemas[g.dataset_id]
            if schema is None:
                raise ValidationError("no schema")
            conditions = validate_conditions(g.conditions, schema)
        except ValidationError:
            logger.warning("grant %s does not fit the schema of dataset %s", g.pk, g.dataset_id)
            valid = False
        out[(g.recipient_id, g.dataset_id, g.permission_number)] = ActiveGrant(
            id=g.pk,
            recipient_id=g.recipient_id,
            dataset_id=g.dataset_id,
            permission_number=g.permission_number,
            status=g.status,
            fields=tuple(g.fields),
            conditions=tuple(conditions),
            valid_from=g.valid_from,
            valid_until=g.valid_until,
            quota=g.quota,
            purpose=g.purpose,
            valid_schema=valid,
            tree=field_tree(g.fields),
        )
    return out


grant_cache = GrantCache()
