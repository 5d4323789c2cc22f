"""Mapping source rows to dataset records.

``record_map(config)`` compiles the configuration's field maps once into a function
``row -> (record, errors)``; it runs for every row, so the per-field work is a short list of
closures. A mapping error (a date that does not match its format, a code missing from its code
table, a JSON column that is not a list of objects) is reported per field and makes the row
invalid; the caller logs it with the source row.

Transformations, applied in order: ``trim``, ``upper``, ``lower``, ``null_if_empty``,
``date_format: "%d.%m.%Y"`` (text → ``YYYY-MM-DD``; a date/datetime value passes through as its
date), ``datetime_format: "..."`` (text → ISO 8601), ``code_table: {source: value}`` (a code not
in the table is an error unless the table has a ``"*"`` default), ``to_string``,
``to_integer``, ``to_number``. Values the source returns as ``date``/``datetime``/``Decimal``
become JSON values (ISO text, numbers) without a transformation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from .config import ConnectorConfig, FieldMap, Transform

Row = Mapping[str, Any]
_PLAIN = frozenset({str, int, float, bool})  # JSON values as they are (json_value: unchanged)


@dataclass(frozen=True)
class MappingError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class _Bad(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


def json_value(value: Any) -> Any:
    """A source value as JSON: dates and datetimes as ISO text, ``Decimal`` as a number."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _step(t: Transform) -> Callable[[Any], Any]:
    name, arg = t.name, t.arg
    if name == "trim":
        return lambda v: v.strip() if isinstance(v, str) else v
    if name == "upper":
        return lambda v: v.upper() if isinstance(v, str) else v
    if name == "lower":
        return lambda v: v.lower() if isinstance(v, str) else v
    if name == "null_if_empty":
        return lambda v: None if isinstance(v, str) and not v.strip() else v
    if name == "to_string":
        return lambda v: None if v is None else str(json_value(v))
    if name == "date_format":

        def to_date(v: Any) -> Any:
            if v is None or isinstance(v, date):
                return v.date() if isinstance(v, datetime) else v
            try:
                return datetime.strptime(str(v).strip(), arg).date()
            except ValueError:
                raise _Bad("date_format", f"does not match the date format {arg}") from None

        return to_date
    if name == "datetime_format":

        def to_datetime(v: Any) -> Any:
            if v is None or isinstance(v, datetime):
                return v
            try:
                return datetime.strptime(str(v).strip(), arg)
            except ValueError:
                raise _Bad("datetime_format", f"does not match the format {arg}") from None

        return to_datetime
    if name == "code_table":
        table = {str(k): val for k, val in arg.items()}
        has_default = "*" in table

        def lookup(v: Any) -> Any:
            if v is None:
                return None
            code = str(json_value(v))
            if code in table:
                return table[code]
            if has_default:
                return table["*"]
            raise _Bad("code_table", f"the code {code[:40]!r} is not in the code table")

        return lookup
    if name == "to_integer":

        def to_int(v: Any) -> Any:
            if v is None or (isinstance(v, int) and not isinstance(v, bool)):
                return v
            try:
                return int(str(v).strip())
            except ValueError:
                raise _Bad("to_integer", "is not a whole number") from None

        return to_int
    if name == "to_number":

        def to_num(v: Any) -> Any:
            if v is None or (isinstance(v, int | float) and not isinstance(v, bool)):
                return v
            try:
                return float(str(v).strip().replace(",", "."))
            except ValueError:
                raise _Bad("to_number", "is not a number") from None

        return to_num
    raise ValueError(name)  # config_from_dict admits only known names


Mapper = Callable[[Row, list[MappingError], str], dict[str, Any]]


def _compile(maps: tuple[FieldMap, ...]) -> Mapper:
    steps: list[Callable[[Row, dict[str, Any], list[MappingError], str], None]] = []
    for fm in maps:
        steps.append(_field_step(fm))

    def apply(row: Row, errors: list[MappingError], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for step in steps:
            step(row, out, errors, prefix)
        return out

    return apply


def _field_step(fm: FieldMap) -> Callable[[Row, dict[str, Any], list[MappingError], str], None]:
    name, column = fm.field, fm.column
    if fm.has_constant:
        constant = fm.constant

        def put_constant(row: Row, out: dict[str, Any], errors: list, prefix: str) -> None:
            out[name] = constant

        return put_constant
    if fm.is_list:
        inner = _compile(fm.fields)

        def put_list(row: Row, out: dict[str, Any], errors: list, prefix: str) -> None:
            value = row.get(column) if column else None
            if value is None:
                return
            if isinstance(value, str | bytes):
                try:
                    value = json.loads(value)
                except ValueError:
                    errors.append(MappingError(prefix + name, "json", "is not valid JSON"))
                    return
            if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
                errors.append(MappingError(prefix + name, "list", "is not a list of rows"))
                return
            out[name] = [
                inner(item, errors, f"{prefix}{name}[{i}].") for i, item in enumerate(value)
            ]

        return put_list
    chain = [_step(t) for t in fm.transforms]
    if not chain:  # the common case, once per field and row: no transformation to try

        def put_plain(row: Row, out: dict[str, Any], errors: list, prefix: str) -> None:
            value = row.get(column) if column else None
            if value is not None:
                out[name] = value if value.__class__ in _PLAIN else json_value(value)

        return put_plain

    def put_value(row: Row, out: dict[str, Any], errors: list, prefix: str) -> None:
        value = row.get(column) if column else None
        try:
            for step in chain:
                value = step(value)
        except _Bad as bad:
            errors.append(MappingError(prefix + name, bad.code, bad.message))
            return
        if value is not None:
            out[name] = value if value.__class__ in _PLAIN else json_value(value)

    return put_value


def record_map(
    config: ConnectorConfig,
) -> Callable[[Row], tuple[dict[str, Any], list[MappingError]]]:
    """``row -> (record, errors)`` for ``config``'s field maps (errors empty when it mapped)."""
    apply = _compile(config.fields)

    def map_row(row: Row) -> tuple[dict[str, Any], list[MappingError]]:
        errors: list[MappingError] = []
        record = apply(row, errors, "")
        return record, errors

    return map_row


def row_shown(row: Row, limit: int = 2000) -> dict[str, Any]:
    """A source row as a log line keeps it: JSON values, long texts cut, nested rows kept."""
    shown: dict[str, Any] = {}
    for k, v in row.items():
        v = json_value(v)
        if isinstance(v, str) and len(v) > 200:
            v = v[:200] + "…"
        shown[str(k)] = v
    text = json.dumps(shown, default=str, ensure_ascii=False)
    return shown if len(text) <= limit else {"_truncated": text[:limit]}
