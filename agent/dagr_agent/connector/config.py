"""A connector's configuration: what to read, how to map it, how to load it.

Plain data, no Django: the server keeps it as JSON on ``Connector.config`` and the remote agent
reads it from ``connector.yaml``. ``config_from_dict`` is the one parser; it raises
``ConfigError`` with every problem it finds (a path and a message each).

Secrets are NOT part of the configuration: they are passed separately (``secrets``) so that the
configuration can be shown, logged and diffed without leaking them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("full", "incremental")
CURSOR_TYPES = ("timestamp", "sequence")
DRIFT_POLICIES = ("fail", "ignore", "propose")
INVALID_POLICIES = ("fail", "skip")
COLUMN_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "json")
TRANSFORMS = (
    "trim",
    "upper",
    "lower",
    "null_if_empty",
    "date_format",
    "datetime_format",
    "code_table",
    "to_string",
    "to_integer",
    "to_number",
)


class ConfigError(ValueError):
    """The configuration is not usable; ``problems`` lists ``(path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


@dataclass(frozen=True)
class Transform:
    """One step applied to a source value: ``name`` from ``TRANSFORMS`` and its argument
    (a date format, a code table as a dict)."""

    name: str
    arg: Any = None


@dataclass(frozen=True)
class FieldMap:
    """A dataset field and where its value comes from: a source ``column`` (with transforms), a
    ``constant``, or — for a list field — a column holding a list of rows (a child query's rows,
    or a JSON column holding a JSON array of objects) mapped by ``fields``."""

    field: str
    column: str | None = None
    constant: Any = None
    has_constant: bool = False
    transforms: tuple[Transform, ...] = ()
    fields: tuple[FieldMap, ...] = ()

    @property
    def is_list(self) -> bool:
        return bool(self.fields)


@dataclass(frozen=True)
class CursorConfig:
    column: str
    type: str = "timestamp"  # "timestamp" | "sequence"
    start: Any = None  # used only when there is no saved state (logged as such)


@dataclass(frozen=True)
class DeletionConfig:
    """How deletions at the source reach the dataset: a deleted-flag column (rows whose flag
    equals ``flag_value`` are deleted by key), and/or a full snapshot every ``snapshot_every``
    runs of an incremental connector (deletes what the source no longer holds)."""

    flag_column: str | None = None
    flag_value: Any = True
    snapshot_every: int = 0


@dataclass(frozen=True)
class ConnectorConfig:
    source_kind: str
    source_options: Mapping[str, Any]
    key: str
    fields: tuple[FieldMap, ...]
    mode: str = "full"
    cursor: CursorConfig | None = None
    deletion: DeletionConfig = field(default_factory=DeletionConfig)
    drift: str = "fail"
    invalid: str = "fail"
    # the source columns (name -> type) the mapping was written against; drift compares to it
    columns: Mapping[str, str] = field(default_factory=dict)
    schedule: str = ""
    timeout_s: int = 3600
    batch_size: int = 5000
    commit_rows: int = 20000
    dataset: str = ""

    def used_columns(self) -> set[str]:
        """Every source column the configuration reads."""
        used: set[str] = set()

        def walk(maps: tuple[FieldMap, ...]) -> None:
            for fm in maps:
                if fm.column:
                    used.add(fm.column)

        walk(self.fields)
        if self.cursor:
            used.add(self.cursor.column)
        if self.deletion.flag_column:
            used.add(self.deletion.flag_column)
        return used


def _as_int(raw: Any, path: str, problems: list[tuple[str, str]], default: int, low: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < low:
        problems.append((path, f"must be a whole number ≥ {low}"))
        return default
    return raw


def _transforms(raw: Any, path: str, problems: list[tuple[str, str]]) -> tuple[Transform, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append((path, "must be a list"))
        return ()
    found: list[Transform] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if isinstance(item, str):
            name, arg = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, arg = next(iter(item.items()))
        else:
            problems.append((where, "must be a name or a one-key mapping"))
            continue
        if name not in TRANSFORMS:
            problems.append((where, f"unknown transformation {name!r}"))
            continue
        if name in ("date_format", "datetime_format") and not isinstance(arg, str):
            problems.append((where, f"{name} needs a format such as '%d.%m.%Y'"))
            continue
        if name == "code_table" and not isinstance(arg, dict):
            problems.append((where, "code_table needs a mapping of source codes to values"))
            continue
        found.append(Transform(name, arg))
    return tuple(found)


def _fields(raw: Any, path: str, problems: list[tuple[str, str]]) -> tuple[FieldMap, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append((path, "must be a non-empty list of fields"))
        return ()
    found: list[FieldMap] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            problems.append((where, "needs 'field' (the dataset field name)"))
            continue
        name = item["field"]
        if name in names:
            problems.append((where, f"field {name!r} is mapped twice"))
        names.add(name)
        column = item.get("column")
        if column is not None and not isinstance(column, str):
            problems.append((f"{where}.column", "must be a column name"))
            column = None
        has_constant = "constant" in item
        children: tuple[FieldMap, ...] = ()
        if "fields" in item:
            children = _fields(item["fields"], f"{where}.fields", problems)
            if column is None:
                problems.append((where, "a list field needs 'column' (child rows or JSON)"))
        if column is None and not has_constant:
            problems.append((where, "needs 'column' or 'constant'"))
        if column is not None and has_constant:
            problems.append((where, "has both 'column' and 'constant'"))
        found.append(
            FieldMap(
                field=name,
                column=column,
                constant=item.get("constant"),
                has_constant=has_constant,
                transforms=_transforms(item.get("transforms"), f"{where}.transforms", problems),
                fields=children,
            )
        )
    return tuple(found)


def config_from_dict(raw: Mapping[str, Any]) -> ConnectorConfig:
    """Parse and check a configuration document (the JSON stored by the server, or the parsed
    ``connector.yaml``)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        raise ConfigError([("", "must be a mapping")])
    source = raw.get("source")
    if not isinstance(source, Mapping) or not isinstance(source.get("kind"), str):
        problems.append(("source", "needs 'kind' (sql, file or http) and 'options'"))
        source = {"kind": "", "options": {}}
    options = source.get("options") or {}
    if not isinstance(options, Mapping):
        problems.append(("source.options", "must be a mapping"))
        options = {}
    mapping = raw.get("mapping")
    if not isinstance(mapping, Mapping):
        problems.append(("mapping", "needs 'key' and 'fields'"))
        mapping = {}
    key = mapping.get("key")
    if not isinstance(key, str) or not key:
        problems.append(("mapping.key", "names the dataset's key field"))
        key = ""
    fields = _fields(mapping.get("fields"), "mapping.fields", problems)
    if key and fields and key not in {f.field for f in fields}:
        problems.append(("mapping.key", f"the key field {key!r} is not mapped"))
    mode = raw.get("mode", "full")
    if mode not in MODES:
        problems.append(("mode", f"one of {', '.join(MODES)}"))
    cursor = None
    raw_cursor = raw.get("cursor")
    if raw_cursor is not None:
        if not isinstance(raw_cursor, Mapping) or not isinstance(raw_cursor.get("column"), str):
            problems.append(("cursor", "needs 'column' (the change column)"))
        else:
            ctype = raw_cursor.get("type", "timestamp")
            if ctype not in CURSOR_TYPES:
                problems.append(("cursor.type", f"one of {', '.join(CURSOR_TYPES)}"))
            cursor = CursorConfig(raw_cursor["column"], ctype, raw_cursor.get("start"))
    if mode == "incremental" and cursor is None:
        problems.append(("cursor", "an incremental connector needs a change column"))
    raw_del = raw.get("deletion") or {}
    if not isinstance(raw_del, Mapping):
        problems.append(("deletion", "must be a mapping"))
        raw_del = {}
    deletion = DeletionConfig(
        flag_column=raw_del.get("flag_column"),
        flag_value=raw_del.get("flag_value", True),
        snapshot_every=_as_int(
            raw_del.get("snapshot_every"), "deletion.snapshot_every", problems, 0, 0
        ),
    )
    drift = raw.get("drift", "fail")
    if drift not in DRIFT_POLICIES:
        problems.append(("drift", f"one of {', '.join(DRIFT_POLICIES)}"))
    invalid = raw.get("invalid", "fail")
    if invalid not in INVALID_POLICIES:
        problems.append(("invalid", f"one of {', '.join(INVALID_POLICIES)}"))
    columns = raw.get("columns") or {}
    if not isinstance(columns, Mapping) or any(t not in COLUMN_TYPES for t in columns.values()):
        problems.append(("columns", f"maps column names to one of {', '.join(COLUMN_TYPES)}"))
        columns = {}
    schedule = raw.get("schedule") or ""
    if not isinstance(schedule, str):
        problems.append(("schedule", "must be a cron expression"))
        schedule = ""
    timeout_s = _as_int(raw.get("timeout_s"), "timeout_s", problems, 3600, 1)
    batch_size = _as_int(raw.get("batch_size"), "batch_size", problems, 5000, 1)
    commit_rows = _as_int(raw.get("commit_rows"), "commit_rows", problems, 20000, 1)
    if problems:
        raise ConfigError(problems)
    return ConnectorConfig(
        source_kind=source["kind"],
        source_options=dict(options),
        key=key,
        fields=fields,
        mode=mode,
        cursor=cursor,
        deletion=deletion,
        drift=drift,
        invalid=invalid,
        columns=dict(columns),
        schedule=schedule,
        timeout_s=timeout_s,
        batch_size=batch_size,
        commit_rows=commit_rows,
        dataset=str(raw.get("dataset") or ""),
    )


def config_from_yaml(text: str) -> ConnectorConfig:
    """``connector.yaml`` as the remote agent reads it."""
    import yaml  # the agent's dependency; imported here so the server needs it only for YAML

    return config_from_dict(yaml.safe_load(text) or {})
