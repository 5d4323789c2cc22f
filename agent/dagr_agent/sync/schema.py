"""From the dataset schema and the caller's grant to a table definition.

One column per granted top-level field:

==========  ==================================================================================
string      ``TEXT`` (``VARCHAR(255)`` when it is the key: MariaDB cannot index unbounded text)
integer     ``BIGINT``
decimal     ``NUMERIC(38, 10)`` — DAGR's schema has no precision; 28 digits before the point
            and 10 after hold every value the loader accepts without loss that matters
boolean     ``BOOLEAN`` (``TINYINT(1)`` on MariaDB)
date        ``DATE``
datetime    ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; UTC in ``DATETIME`` elsewhere
list        ``JSON``: the whole list with only its granted sub-fields (one row per record,
            the same on PostgreSQL, MariaDB and SQLite)
==========  ==================================================================================

plus ``_dagr_change_id`` (the feed's change number that last wrote the row) and
``_dagr_synced_at``. The primary key is the dataset's key field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from .client import SyncError

SCALAR_TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime")


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: str  # one of SCALAR_TYPES or "json"
    key: bool = False


@dataclass(frozen=True)
class TableDef:
    dataset: str
    table: str
    key: str
    key_type: str
    columns: tuple[ColumnDef, ...]

    @property
    def digest(self) -> str:
        """Changes when the column set (names, types, key, table name) changes."""
        document = orjson.dumps(
            [self.table, self.key, [(c.name, c.type, c.key) for c in self.columns]]
        )
        return hashlib.sha256(document).hexdigest()[:32]


def _granted_top(fields: list[str]) -> set[str]:
    return {path.split(".", 1)[0] for path in fields}


def table_definition(dataset: dict[str, Any], permission: dict[str, Any], table: str) -> TableDef:
    """``dataset`` is ``GET /api/v1/catalog/datasets/{code}``; ``permission`` one item of
    ``GET /api/v1/data/grants``."""
    code = dataset["code"]
    schema = dataset.get("schema")
    if not schema:
        raise SyncError(f"dataset {code} has no schema yet")
    key = schema["key"]
    granted = _granted_top(permission.get("fields") or [])
    if key not in granted:
        raise SyncError(
            f"the grant {permission.get('permission_number')} does not include the key field "
            f"{key!r} of {code}: the sync connector needs it"
        )
    columns: list[ColumnDef] = []
    key_type = "string"
    for f in schema["fields"]:
        name = f["name"]
        if name not in granted:
            continue
        kind = "json" if f["type"] == "list" else f["type"]
        if kind != "json" and kind not in SCALAR_TYPES:
            raise SyncError(f"field {name} of {code} has an unknown type {f['type']!r}")
        if name == key:
            key_type = kind
        columns.append(ColumnDef(name=name, type=kind, key=name == key))
    return TableDef(dataset=code, table=table, key=key, key_type=key_type, columns=tuple(columns))


def find_permission(
    permissions: list[dict[str, Any]], code: str, permission_number: str
) -> dict[str, Any]:
    for item in permissions:
        if item.get("dataset") == code and item.get("permission_number") == permission_number:
            return item
    raise SyncError(
        f"no grant {permission_number} for dataset {code} among this connection's grants "
        "(check dagr.client_id and datasets[].permission_number)"
    )
