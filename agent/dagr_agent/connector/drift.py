"""Schema drift: the source's columns compared with what the connector was configured against.

A column the source now has and the configuration does not know is ``new``; one the
configuration knows (listed in ``columns`` or read by the mapping) that the source no longer has
is ``missing``; one whose type changed is ``retyped``. New and retyped columns are known only
when the configuration lists the source's ``columns`` (name: type, as the dry run shows them);
missing mapped columns are found always. The connector's policy decides:

- ``fail``: the run stops before reading anything;
- ``ignore``: new columns are ignored; a missing column the mapping reads still fails the run
  (its fields would silently go empty), a missing unused one is only logged;
- ``propose``: like ``ignore``, and each new column becomes a proposed schema field (name and
  type) that the server shows the provider as a proposed schema change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .config import ConnectorConfig

# source column type -> dataset schema field type for a proposal
_SCHEMA_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "json": "string",
}


class ColumnLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...


@dataclass(frozen=True)
class Drift:
    kind: str  # "new" | "missing" | "retyped"
    column: str
    expected: str | None = None
    found: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "expected": self.expected,
            "found": self.found,
        }

    def describe(self) -> str:
        if self.kind == "new":
            return f"new source column {self.column} ({self.found})"
        if self.kind == "missing":
            return f"source column {self.column} is missing"
        return f"source column {self.column} changed type from {self.expected} to {self.found}"


class DriftFailed(Exception):
    def __init__(self, drift: list[Drift]) -> None:
        self.drift = drift
        super().__init__("schema drift: " + "; ".join(d.describe() for d in drift))


def drift_detect(config: ConnectorConfig, columns: Iterable[ColumnLike]) -> list[Drift]:
    found = {c.name: c.type for c in columns}
    expected: dict[str, str | None] = dict(config.columns)
    for name in config.used_columns():
        expected.setdefault(name, None)
    drift: list[Drift] = []
    baseline = bool(config.columns)  # without the columns written down, "new" has no meaning
    for name, ctype in found.items():
        if name not in expected:
            if baseline:
                drift.append(Drift("new", name, None, ctype))
        elif expected[name] is not None and expected[name] != ctype:
            drift.append(Drift("retyped", name, expected[name], ctype))
    for name, etype in expected.items():
        if name not in found:
            drift.append(Drift("missing", name, etype, None))
    return drift


def drift_apply(config: ConnectorConfig, drift: list[Drift]) -> list[dict[str, Any]]:
    """Apply the policy: raise ``DriftFailed`` or return the proposed schema fields."""
    if not drift:
        return []
    used = config.used_columns()
    blocking = [d for d in drift if d.kind in ("missing", "retyped") and d.column in used]
    if config.drift == "fail" or blocking:
        raise DriftFailed(drift if config.drift == "fail" else blocking)
    if config.drift != "propose":
        return []
    return [
        {
            "name": field_name(d.column),
            "type": _SCHEMA_TYPES.get(d.found or "", "string"),
            "column": d.column,
        }
        for d in drift
        if d.kind == "new"
    ]


def field_name(column: str) -> str:
    """A schema field name (``[a-z][a-z0-9_]*``) for a source column name."""
    name = re.sub(r"[^a-z0-9_]+", "_", column.lower()).strip("_") or "field"
    return name if name[0].isalpha() else f"f_{name}"


def columns_snapshot(columns: Iterable[ColumnLike]) -> Mapping[str, str]:
    """The ``columns`` entry to store in a configuration: what the source has now."""
    return {c.name: c.type for c in columns}
