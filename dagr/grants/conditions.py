"""The ONE condition engine: a grant's conditions on record field values, defined once and
evaluated both in Python (single records, change feeds) and in SQL (search, export).

A condition is ``{"field": "birth_date", "op": "older_than", "value": {"years": 18}}``; a list of
conditions combines with AND (an empty list lets every record through).

Semantics (identical in Python, on SQLite and on PostgreSQL — a Hypothesis property test proves
it on both backends, ``tests/grants/test_conditions_property.py``):

- Conditions apply to **top-level scalar fields** only (string, integer, decimal, boolean, date,
  datetime). A nested path (``board_members.personal_code``) or a list field is refused with the
  code ``nested_field_not_supported``: "one of the board members is …" is a different question
  (any/all) that a later issue can add explicitly.
- ``empty`` holds when the field is missing or JSON ``null``; ``not_empty`` when it has any
  other value. The empty string is a value (CSV/XLSX loads already store empty cells as missing).
- Every other operator is **false for a missing or null value**, including ``ne``: "not equal to
  X" does not select records that have no value at all.
- A stored value of the wrong JSON type for the field (e.g. left over from an older schema
  version) satisfies no comparison.
- Numbers (integer and decimal fields) compare numerically as IEEE 754 double precision values on
  every backend (exact for integers up to 2**53 and decimals up to 15 significant digits).
- Strings compare by Unicode code point order (SQLite: BINARY collation over UTF-8; PostgreSQL:
  ``COLLATE "C"``), never by a locale: "Z" < "a" < "Ā".
- Dates are ISO strings ``YYYY-MM-DD``; their string order is date order.
- Datetime fields allow only ``empty`` / ``not_empty`` for now: ordering datetimes with different
  UTC offsets identically on every backend (SQLite keeps only milliseconds) is deferred.
- Booleans allow ``eq`` / ``ne`` / ``empty`` / ``not_empty``.
- ``between`` includes both ends; ``in`` takes 1–1000 values.
- ``older_than {"years": 18}`` on a date field holds when the date is **on or before** today minus
  18 years; ``newer_than`` when it is strictly after. The subtraction is calendar arithmetic
  (years, then months, then days); a day that does not exist in the target month is clamped to
  its last day (today 2028-02-29 minus 18 years is 2010-02-28), so a person born on 29 February
  2008 becomes 18 on 1 March 2026. "Today" is the local date of the platform (``TIME_ZONE``);
  the threshold is computed once per evaluation in Python and passed to SQL as a parameter.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, get_args

from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field

from dagr.catalog.schema import NAME_RE, FieldDef, SchemaDef
from dagr.core.errors import ValidationError

Operator = Literal[
    "eq",
    "ne",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "empty",
    "not_empty",
    "older_than",
    "newer_than",
]
OPERATORS: tuple[str, ...] = get_args(Operator)
MAX_IN_VALUES = 1000
MAX_CONDITIONS = 50

OPERATOR_LABELS: dict[str, Any] = {
    "eq": _("equals"),
    "ne": _("does not equal"),
    "in": _("is one of"),
    "gt": _("is greater than"),
    "gte": _("is greater than or equal to"),
    "lt": _("is less than"),
    "lte": _("is less than or equal to"),
    "between": _("is between (inclusive)"),
    "empty": _("is empty"),
    "not_empty": _("is not empty"),
    "older_than": _("is older than"),
    "newer_than": _("is newer than"),
}

_ORDERED = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "between", "empty", "not_empty")
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "string": _ORDERED,
    "integer": _ORDERED,
    "decimal": _ORDERED,
    "date": (*_ORDERED, "older_than", "newer_than"),
    "boolean": ("eq", "ne", "empty", "not_empty"),
    "datetime": ("empty", "not_empty"),
}

ERROR_MESSAGES: dict[str, Any] = {
    "unknown_field": _("the field '%(field)s' is not in the dataset's schema"),
    "nested_field_not_supported": _(
        "conditions apply only to top-level fields that are not lists ('%(field)s')"
    ),
    "operator_not_allowed": _("the operator '%(op)s' cannot be used with a field of type %(type)s"),
    "unknown_operator": _("unknown operator '%(op)s'"),
    "value_not_expected": _("the operator '%(op)s' takes no value"),
    "invalid_value": _("the value does not fit the field type %(type)s"),
    "invalid_list": _("give between 1 and %(max)s values"),
    "invalid_range": _("give two values: from and to, the first not greater than the second"),
    "invalid_duration": _('give a duration in whole years, months or days, e.g. {"years": 18}'),
    "invalid_condition": _("a condition needs 'field', 'op' and, for most operators, 'value'"),
    "too_many_conditions": _("at most %(max)s conditions are allowed"),
}


class Duration(BaseModel):
    """A calendar duration for ``older_than`` / ``newer_than``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: int = Field(default=0, ge=0, le=200)
    months: int = Field(default=0, ge=0, le=2400)
    days: int = Field(default=0, ge=0, le=100_000)

    def before(self, today: date) -> date:
        """``today`` minus this duration: years and months first (clamping the day to the end
        of the month), then days."""
        months = today.year * 12 + (today.month - 1) - self.years * 12 - self.months
        year, month = divmod(months, 12)
        month += 1
        if year < 1:
            return date.min
        day = min(today.day, calendar.monthrange(year, month)[1])
        try:
            return date(year, month, day) - timedelta(days=self.days)
        except OverflowError:
            return date.min


class Condition(BaseModel):
    """One validated condition. ``value`` is typed by ``validate_conditions`` against the
    field's type: a scalar, a list (``in``), a pair (``between``), a ``Duration`` or None."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    field: str
    op: Operator
    value: Any = None
    type: str = "string"  # the field's schema type, filled in by validation

    def as_json(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, Duration):
            value = value.model_dump(exclude_defaults=True)
        elif isinstance(value, tuple):
            value = list(value)
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if value is not None:
            out["value"] = value
        return out


# --- validation against a schema ---------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        self.code, self.params = code, params


def _scalar(field_type: str, value: Any) -> Any:
    """A condition value of ``field_type`` in its stored JSON form, or ``_Bad``."""
    if field_type in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad("invalid_value", type=field_type)
        if field_type == "integer" and isinstance(value, float):
            if not value.is_integer():
                raise _Bad("invalid_value", type=field_type)
            value = int(value)
        if (isinstance(value, float) and value != value) or value in (float("inf"), float("-inf")):
            raise _Bad("invalid_value", type=field_type)
        if isinstance(value, int) and abs(value) > 2**63 - 1:
            raise _Bad("invalid_value", type=field_type)
        return value
    if field_type == "boolean":
        if not isinstance(value, bool):
            raise _Bad("invalid_value", type=field_type)
        return value
    if field_type == "date":
        if not isinstance(value, str) or len(value) != 10:
            raise _Bad("invalid_value", type=field_type)
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise _Bad("invalid_value", type=field_type) from None
    if not isinstance(value, str) or "\x00" in value:
        raise _Bad("invalid_value", type=field_type)
    return value


def _typed_value(field_type: str, op: str, value: Any) -> Any:
    if op in ("empty", "not_empty"):
        if value is not None:
            raise _Bad("value_not_expected", op=op)
        return None
    if op in ("older_than", "newer_than"):
        if not isinstance(value, dict) or not value:
            raise _Bad("invalid_duration")
        try:
            duration = Duration.model_validate(value)
        except Exception:  # pydantic's error: wrong keys or numbers
            raise _Bad("invalid_duration") from None
        if not (duration.years or duration.months or duration.days):
            raise _Bad("invalid_duration")
        return duration
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_IN_VALUES:
            raise _Bad("invalid_list", max=MAX_IN_VALUES)
        return tuple(dict.fromkeys(_scalar(field_type, v) for v in value))
    if op == "between":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _Bad("invalid_range")
        low, high = _scalar(field_type, value[0]), _scalar(field_type, value[1])
        if low > high:
            raise _Bad("invalid_range")
        return (low, high)
    return _scalar(field_type, value)


def _message(code: str, **params: Any) -> str:
    return str(ERROR_MESSAGES[code]) % params if params else str(ERROR_MESSAGES[code])


def top_level_fields(schema: SchemaDef) -> dict[str, FieldDef]:
    return {f.name: f for f in schema.fields}


def validate_conditions(raw: Any, schema: SchemaDef) -> list[Condition]:
    """Check conditions (JSON: ``[{field, op, value}]``) against a dataset schema. Raises
    ``ValidationError`` (code ``invalid_conditions``) listing every problem with its own code and
    location (``conditions.<n>``)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raw = [raw]
    errors: list[dict[str, Any]] = []
    if len(raw) > MAX_CONDITIONS:
        errors.append(
            {
                "location": "conditions",
                "code": "too_many_conditions",
                "message": _message("too_many_conditions", max=MAX_CONDITIONS),
            }
        )
    fields = top_level_fields(schema)
    paths = dict(schema.field_paths())
    out: list[Condition] = []
    for n, item in enumerate(raw[:MAX_CONDITIONS]):
        try:
            out.append(_validate_one(item, fields, paths))
        except _Bad as bad:
            errors.append(
                {
                    "location": f"conditions.{n}",
                    "code": bad.code,
                    "message": _message(bad.code, **bad.params),
                }
            )
    if errors:
        raise ValidationError(
            _("The conditions are not valid."), code="invalid_conditions", errors=errors
        )
    return out


def _validate_one(item: Any, fields: dict[str, FieldDef], paths: dict[str, FieldDef]) -> Condition:
    if not isinstance(item, dict) or set(item) - {"field", "op", "value"}:
        raise _Bad("invalid_condition")
    name, op = item.get("field"), item.get("op")
    if not isinstance(name, str) or not isinstance(op, str):
        raise _Bad("invalid_condition")
    if op not in OPERATORS:
        raise _Bad("unknown_operator", op=op[:40])
    f = fields.get(name)
    if f is None:
        if name in paths:
            raise _Bad("nested_field_not_supported", field=name)
        raise _Bad("unknown_field", field=name[:100])
    if f.type == "list":
        raise _Bad("nested_field_not_supported", field=name)
    if op not in OPERATORS_BY_TYPE[f.type]:
        raise _Bad("operator_not_allowed", op=op, type=f.type)
    value = _typed_value(f.type, op, item.get("value"))
    return Condition(field=name, op=op, value=value, type=f.type)  # type: ignore[arg-type]  # op and type checked above


def conditions_as_json(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    return [c.as_json() for c in conditions]


# --- resolution: relative dates become absolute once per evaluation ----------------------------


@dataclass(frozen=True, slots=True)
class _Resolved:
    field: str
    op: str  # eq ne in gt gte lt lte between empty not_empty
    value: Any
    kind: str  # "text" (string, date), "number", "boolean", "any" (datetime)


def _kind(field_type: str) -> str:
    if field_type in ("integer", "decimal"):
        return "number"
    if field_type == "boolean":
        return "boolean"
    if field_type == "datetime":
        return "any"
    return "text"


def _resolve(conditions: Iterable[Condition], today: date) -> list[_Resolved]:
    out: list[_Resolved] = []
    for c in conditions:
        kind, op, value = _kind(c.type), c.op, c.value
        if op in ("older_than", "newer_than"):
            threshold = value.before(today).isoformat()
            op, value = ("lte" if c.op == "older_than" else "gt"), threshold
        if kind == "number" and value is not None:
            value = tuple(float(v) for v in value) if isinstance(value, tuple) else float(value)
        out.append(_Resolved(c.field, op, value, kind))
    return out


def local_today() -> date:
    from django.utils import timezone

    return timezone.localdate()


# --- Python ------------------------------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]

_MISSING = object()


def _typed(kind: str, value: Any) -> Any:
    """The comparable form of a stored value, or ``_MISSING`` when it has the wrong type."""
    if kind == "text":
        return value if isinstance(value, str) else _MISSING
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _MISSING
        try:
            return float(value)
        except OverflowError:
            return _MISSING
    if kind == "boolean":
        return value if isinstance(value, bool) else _MISSING
    return value


def _python_test(r: _Resolved) -> Predicate:
    name, op, want, kind = r.field, r.op, r.value, r.kind
    if op == "empty":
        return lambda data: data.get(name) is None
    if op == "not_empty":
        return lambda data: data.get(name) is not None

    def get(data: dict[str, Any]) -> Any:
        value = data.get(name)
        return _MISSING if value is None else _typed(kind, value)

    if op == "in":
        wanted = frozenset(want)
        return lambda data: (v := get(data)) is not _MISSING and v in wanted
    if op == "between":
        low, high = want
        return lambda data: (v := get(data)) is not _MISSING and low <= v <= high
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    fn = compare[op]
    return lambda data: (v := get(data)) is not _MISSING and fn(v, want)


def compile_predicate(conditions: Iterable[Condition], *, today: date | None = None) -> Predicate:
    """``predicate(record_data) -> bool``: True when the record satisfies every condition."""
    tests = [_python_test(r) for r in _resolve(conditions, today or local_today())]
    if not tests:
        return lambda data: True

    def predicate(data: dict[str, Any]) -> bool:
        return isinstance(data, dict) and all(test(data) for test in tests)

    return predicate


# --- SQL ---------------------------------------------------------------------------------------

_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _check_name(name: str) -> str:
    # Field names come from a validated schema; re-checked because they are inlined into SQL.
    if not NAME_RE.match(name):
        raise ValueError(f"invalid field name {name!r}")
    return name


class _SQLite:
    def value(self, col: str, r: _Resolved) -> tuple[str, str]:
        """(type guard, comparable expression) for a stored value."""
        path = f"'$.\"{_check_name(r.field)}\"'"
        typ = f"json_type({col}, {path})"
        raw = f"json_extract({col}, {path})"
        if r.kind == "text":
            return f"{typ} = 'text'", raw
        if r.kind == "number":
            return f"{typ} IN ('integer', 'real')", f"CAST({raw} AS REAL)"
        return f"{typ} IN ('true', 'false')", raw

    def empty(self, col: str, r: _Resolved) -> str:
        path = f"'$.\"{_check_name(r.field)}\"'"
        return f"COALESCE(json_type({col}, {path}), 'null') = 'null'"

    def param(self, r: _Resolved) -> str:
        return "CAST(%s AS REAL)" if r.kind == "number" else "%s"

    def boolean(self, value: bool) -> tuple[str, list[Any]]:
        return ("'true'" if value else "'false'"), []


class _PostgreSQL:
    def value(self, col: str, r: _Resolved) -> tuple[str, str]:
        name = _check_name(r.field)
        element = f"({col} -> '{name}')"
        text = f"({col} ->> '{name}')"
        if r.kind == "text":
            return f"jsonb_typeof{element} = 'string'", f'{text} COLLATE "C"'
        if r.kind == "number":
            return f"jsonb_typeof{element} = 'number'", f"CAST({text} AS double precision)"
        return f"jsonb_typeof{element} = 'boolean'", element

    def empty(self, col: str, r: _Resolved) -> str:
        name = _check_name(r.field)
        return f"COALESCE(jsonb_typeof({col} -> '{name}'), 'null') = 'null'"

    def param(self, r: _Resolved) -> str:
        if r.kind == "number":
            return "CAST(%s AS double precision)"
        if r.kind == "text":
            return '%s COLLATE "C"'
        return "%s"


_DIALECTS = {"sqlite": _SQLite(), "postgresql": _PostgreSQL()}


def _sql_one(d: Any, col: str, r: _Resolved, vendor: str) -> tuple[str, list[Any]]:
    if r.op == "empty":
        return d.empty(col, r), []
    if r.op == "not_empty":
        return f"NOT ({d.empty(col, r)})", []
    guard, expr = d.value(col, r)
    if r.kind == "boolean":
        # eq true / ne false → the stored value is true; and so on.
        wanted = r.value if r.op == "eq" else not r.value
        if vendor == "sqlite":
            path = f"'$.\"{_check_name(r.field)}\"'"
            return f"json_type({col}, {path}) = '{'true' if wanted else 'false'}'", []
        return f"{guard} AND {expr} = '{'true' if wanted else 'false'}'::jsonb", []
    p = d.param(r)
    if r.op == "in":
        values = list(r.value)
        return f"{guard} AND {expr} IN ({', '.join([p] * len(values))})", values
    if r.op == "between":
        low, high = r.value
        return f"{guard} AND {expr} >= {p} AND {expr} <= {p}", [low, high]
    return f"{guard} AND {expr} {_SQL_OPS[r.op]} {p}", [r.value]


def to_sql(
    conditions: Iterable[Condition],
    *,
    column: str,
    vendor: str | None = None,
    today: date | None = None,
) -> tuple[str, list[Any]]:
    """A WHERE fragment and its parameters (``%s`` placeholders, as Django's cursors and
    ``QuerySet.filter(RawSQL(sql, params, output_field=BooleanField()))`` expect) over the JSON
    column expression ``column`` (e.g. ``"records_record"."data"``; trusted, never user input).
    Values always travel as parameters; field names are inlined only after a name check.

    ``vendor`` is ``"sqlite"`` or ``"postgresql"`` (default: the default connection's).
    No conditions → ``("1 = 1", [])``.
    """
    if vendor is None:
        from django.db import connection

        vendor = connection.vendor
    dialect = _DIALECTS.get(vendor)
    if dialect is None:
        raise ValueError(f"the condition engine does not support the database {vendor!r}")
    parts: list[str] = []
    params: list[Any] = []
    for r in _resolve(conditions, today or local_today()):
        sql, p = _sql_one(dialect, column, r, vendor)
        parts.append(f"({sql})")
        params.extend(p)
    if not parts:
        return "1 = 1", []
    return " AND ".join(parts), params


def parse_condition_input(
    schema: SchemaDef, *, field: str, op: str, value: str, value_to: str = "", unit: str = ""
) -> dict[str, Any]:
    """Turn one row of the portal's condition form (text inputs) into a condition document; the
    result is then checked by ``validate_conditions`` like any API input."""
    f = top_level_fields(schema).get(field)
    field_type = f.type if f else "string"
    value, value_to = value.strip(), value_to.strip()
    if op in ("empty", "not_empty"):
        return {"field": field, "op": op}
    if op in ("older_than", "newer_than"):
        amount = int(value) if re.fullmatch(r"\d{1,6}", value) else -1
        return {"field": field, "op": op, "value": {unit or "years": amount}}
    if op == "in":
        items = [v.strip() for v in re.split(r"[;\n]", value) if v.strip()]
        return {"field": field, "op": op, "value": [_text_value(field_type, v) for v in items]}
    if op == "between":
        return {
            "field": field,
            "op": op,
            "value": [_text_value(field_type, value), _text_value(field_type, value_to)],
        }
    return {"field": field, "op": op, "value": _text_value(field_type, value)}


def _text_value(field_type: str, text: str) -> Any:
    if field_type == "integer" and re.fullmatch(r"[-+]?\d{1,19}", text):
        return int(text)
    if field_type == "decimal":
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return text
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if field_type == "boolean":
        lowered = text.lower()
        if lowered in ("true", "jā", "ja", "yes", "1"):
            return True
        if lowered in ("false", "nē", "ne", "no", "0"):
            return False
    return text
