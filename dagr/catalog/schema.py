"""Dataset schemas: the typed definition, its validation, and the record validator compiled from it.

A schema document (stored in ``SchemaVersion.definition``, imported/exported as YAML)::

    key: personal_code            # the top-level identifier field whose value is the record key
    fields:
      - name: personal_code       # [a-z][a-z0-9_]*, unique among its siblings
        title_lv: Personas kods
        title_en: Personal code
        type: string              # string|integer|decimal|boolean|date|datetime|list
        required: true
        personal: true            # personal data
        identifier: personal_code # personal_code|company_code|address_code|other, or omitted
        description_lv: …         # optional, also description_en
      - name: board_members
        type: list                # a list of nested objects, described by `fields`
        fields: [ … ]             # nested identifiers have paths like board_members.personal_code

The record validator is compiled once per schema into plain closures (no per-record reflection),
with a generated fast path in front that accepts the common valid record in one function call
(``_compile_fast``; anything it is not sure of goes through the closures, which report errors):
loading validates hundreds of thousands of records per second through it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dagr.core import identifiers
from dagr.core.errors import ValidationError

FieldType = Literal["string", "integer", "decimal", "boolean", "date", "datetime", "list"]
IdentifierKind = Literal["personal_code", "company_code", "address_code", "other"]
SCALAR_TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime")
IDENTIFIER_TYPES = ("string", "integer")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_DEPTH = 3


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title_lv: str = Field(min_length=1, max_length=255)
    title_en: str = Field(min_length=1, max_length=255)
    type: FieldType
    required: bool = False
    personal: bool = False
    identifier: IdentifierKind | None = None
    description_lv: str = ""
    description_en: str = ""
    fields: list[FieldDef] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(
                gettext(
                    "field names use lowercase letters, digits and underscores, "
                    "starting with a letter"
                )
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> FieldDef:
        if self.type == "list":
            if not self.fields:
                raise ValueError(
                    gettext("list field '%(name)s' needs nested 'fields'") % {"name": self.name}
                )
            if self.identifier:
                raise ValueError(
                    gettext("list field '%(name)s' cannot itself be an identifier")
                    % {"name": self.name}
                )
            _check_unique(self.fields, where=self.name)
        elif self.fields:
            raise ValueError(
                gettext("only list fields have nested 'fields' ('%(name)s')") % {"name": self.name}
            )
        if self.identifier and self.type not in IDENTIFIER_TYPES:
            raise ValueError(
                gettext("identifier field '%(name)s' must be of type string or integer")
                % {"name": self.name}
            )
        return self


class SchemaDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    fields: list[FieldDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _key(self) -> SchemaDef:
        _check_unique(self.fields, where="")
        by_name = {f.name: f for f in self.fields}
        key = by_name.get(self.key)
        if key is None:
            raise ValueError(
                gettext("the key field '%(key)s' is not among the top-level fields")
                % {"key": self.key}
            )
        if not key.identifier or not key.required:
            raise ValueError(
                gettext("the key field '%(key)s' must be a required identifier field")
                % {"key": self.key}
            )
        if _depth(self.fields) > MAX_DEPTH:
            raise ValueError(
                gettext("lists may be nested at most %(depth)s levels deep") % {"depth": MAX_DEPTH}
            )
        return self

    def identifier_paths(self) -> list[tuple[str, str]]:
        """``[(path, kind)]`` for every identifier field, nested ones as ``list.field``."""
        return [(path, f.identifier) for path, f in iter_fields(self.fields) if f.identifier]

    def field_paths(self) -> list[tuple[str, FieldDef]]:
        return list(iter_fields(self.fields))

    def as_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True, exclude_none=True) | {
            "key": self.key
        }


def _check_unique(fields: list[FieldDef], *, where: str) -> None:
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            if where:
                message = gettext("field '%(name)s' is defined twice in '%(where)s'")
            else:
                message = gettext("field '%(name)s' is defined twice")
            raise ValueError(message % {"name": f.name, "where": where})
        seen.add(f.name)


def _depth(fields: list[FieldDef]) -> int:
    return 1 + max((_depth(f.fields) for f in fields if f.fields), default=0)


def iter_fields(fields: list[FieldDef], prefix: str = "") -> Iterator[tuple[str, FieldDef]]:
    for f in fields:
        path = f"{prefix}{f.name}"
        yield path, f
        if f.fields:
            yield from iter_fields(f.fields, prefix=f"{path}.")


def parse_schema(document: Any) -> SchemaDef:
    """Validate a schema document; raises ``dagr.core.errors.ValidationError`` with one error per
    problem (location and message)."""
    from pydantic import ValidationError as PydanticError

    if not isinstance(document, dict):
        message = _("The schema must be a mapping with 'key' and 'fields'.")
        raise ValidationError(
            message, code="invalid_schema", errors=[{"location": "", "message": str(message)}]
        )
    try:
        return SchemaDef.model_validate(document)
    except PydanticError as exc:
        raise ValidationError(
            _("The schema is not valid."),
            code="invalid_schema",
            errors=[
                {"location": ".".join(str(p) for p in e["loc"]), "message": _schema_message(e)}
                for e in exc.errors()
            ],
        ) from exc


# Pydantic's own messages are English only; the ones a schema author meets are translated here.
_SCHEMA_MESSAGES: dict[str, Any] = {
    "missing": _("this setting is required"),
    "extra_forbidden": _("unknown setting"),
    "literal_error": _("must be one of: %(expected)s"),
    "string_type": _("must be text"),
    "string_too_short": _("must not be empty"),
    "string_too_long": _("is too long (at most %(max_length)s characters)"),
    "bool_type": _("must be true or false"),
    "bool_parsing": _("must be true or false"),
    "too_short": _("needs at least one field"),
    "list_type": _("must be a list"),
    "model_type": _("must be a mapping of settings"),
    "model_attributes_type": _("must be a mapping of settings"),
    "dict_type": _("must be a mapping of settings"),
}


def _schema_message(error: Any) -> str:
    if error["type"] == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"])).removeprefix("Value error, ")
    template = _SCHEMA_MESSAGES.get(error["type"])
    if template is None:
        return str(error["msg"])
    ctx = {k: str(v).replace(" or ", ", ") for k, v in (error.get("ctx") or {}).items()}
    try:
        return str(template) % ctx if "%(" in str(template) else str(template)
    except KeyError:
        return str(error["msg"])


# --- the record validator ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


MESSAGES: dict[str, Any] = {
    "required": _("a value is required"),
    "unknown_field": _("this field is not in the schema"),
    "not_object": _("a record must be a JSON object"),
    "string": _("must be text"),
    "integer": _("must be a whole number"),
    "integer_range": _("must be a whole number from %(min)s to %(max)s"),
    "decimal": _("must be a number"),
    "decimal_range": _("must be a finite number; whole numbers from %(min)s to %(max)s"),
    "nul_character": _("must not contain the NUL character (U+0000)"),
    "boolean": _("must be true or false"),
    "date": _("must be a date YYYY-MM-DD"),
    "datetime": _("must be a date and time in ISO 8601 with a time zone"),
    "list": _("must be a list of objects"),
    "invalid_identifier": _("is not a valid identifier of kind %(kind)s"),
}

# Integers are stored as JSON numbers and compared in SQL as 64-bit integers (PostgreSQL bigint,
# SQLite INTEGER), and orjson writes no wider integer: a wider one is a per-record error.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
_RANGE = {"min": INT_MIN, "max": INT_MAX}
_FLOAT_EXACT = 2**53
# Longer digit strings than this are out of range anyway (and Python refuses to parse more than
# 4,300 digits at all).
_MAX_DIGITS = 25

_TRUE = {"true", "1", "yes", "jā", "ja", "t", "y"}
_FALSE = {"false", "0", "no", "nē", "ne", "f", "n"}


class _Invalid(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params


def _conv_string(value: Any, coerce: bool) -> Any:
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL cannot store it in text or jsonb
            raise _Invalid("nul_character")
        return value
    if coerce and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("string")


def _in_range(number: int, code: str) -> int:
    if INT_MIN <= number <= INT_MAX:
        return number
    raise _Invalid(code, **_RANGE)


def _conv_integer(value: Any, coerce: bool) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return _in_range(value, "integer_range")
    if isinstance(value, float) and value.is_integer():
        # Beyond 2**53 a float is not exact, and it is what a JSON parser makes of an integer
        # wider than 64 bits (-9223372036854775809 → -9.223372036854776e18): refused.
        if abs(value) > _FLOAT_EXACT:
            raise _Invalid("integer_range", **_RANGE)
        return int(value)
    if coerce and isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        if len(value.strip().lstrip("+-").lstrip("0")) > _MAX_DIGITS:
            raise _Invalid("integer_range", **_RANGE)
        return _in_range(int(value), "integer_range")
    raise _Invalid("integer")


def _finite(number: float) -> float:
    if math.isfinite(number):
        return number
    raise _Invalid("decimal_range", **_RANGE)


def _conv_decimal(value: Any, coerce: bool) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return _in_range(value, "decimal_range")
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _Invalid("decimal")
        return _finite(float(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ".") if coerce else value)
        except InvalidOperation:
            raise _Invalid("decimal") from None
        if number.is_finite():
            if number == number.to_integral_value():
                if number and number.adjusted() > _MAX_DIGITS:
                    raise _Invalid("decimal_range", **_RANGE)
                return _in_range(int(number), "decimal_range")
            return _finite(float(number))
    raise _Invalid("decimal")


def _conv_boolean(value: Any, coerce: bool) -> Any:
    if isinstance(value, bool):
        return value
    if coerce and isinstance(value, str | int):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Invalid("boolean")


def _conv_date(value: Any, coerce: bool) -> Any:
    if isinstance(value, datetime):
        raise _Invalid("date")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip() if coerce else value
        try:
            return date.fromisoformat(text).isoformat() if len(text) == 10 else _raise("date")
        except ValueError:
            pass
    raise _Invalid("date")


def _conv_datetime(value: Any, coerce: bool) -> Any:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip() if coerce else value)
        except ValueError:
            raise _Invalid("datetime") from None
    else:
        raise _Invalid("datetime")
    if parsed.tzinfo is None:
        raise _Invalid("datetime")
    return parsed.isoformat()


def _raise(code: str) -> Any:
    raise _Invalid(code)


_CONVERTERS: dict[str, Callable[[Any, bool], Any]] = {
    "string": _conv_string,
    "integer": _conv_integer,
    "decimal": _conv_decimal,
    "boolean": _conv_boolean,
    "date": _conv_date,
    "datetime": _conv_datetime,
}

Validator = Callable[[Any], tuple[dict[str, Any] | None, list[RecordError]]]


def compile_validator(schema: SchemaDef, *, coerce: bool = False, fast: bool = True) -> Validator:
    """Return ``validate(record) -> (normalised_record | None, errors)``.

    ``coerce=True`` accepts text for typed values (CSV/XLSX cells): "42" → 42, "jā" → true,
    "1,5" → 1.5; empty strings count as missing. Without it, JSON types must match.
    Normalised records carry only schema fields, omit missing optional values, store dates and
    datetimes as ISO strings and identifier values in their stored form
    (``identifiers.normalise``: personal codes and company numbers without hyphens).

    ``fast`` (the default) puts the generated fast path (``_compile_fast``) in front: a record
    it accepts comes out exactly as this validator makes it; any other record is validated
    here, so errors are always this validator's. ``fast=False`` is the reference the tests
    compare the fast path with.
    """
    check = _compile_object(schema.fields, prefix="", coerce=coerce)

    def validate(record: Any) -> tuple[dict[str, Any] | None, list[RecordError]]:
        errors: list[RecordError] = []
        if not isinstance(record, dict):
            return None, [RecordError("", "not_object", str(MESSAGES["not_object"]))]
        out = check(record, errors)
        return (None, errors) if errors else (out, errors)

    if not fast:
        return validate
    accept = _compile_fast(schema.fields, coerce=coerce)

    def validate_fast(record: Any) -> tuple[dict[str, Any] | None, list[RecordError]]:
        if type(record) is dict:
            out = accept(record)
            if out is not None:
                return out, []
        return validate(record)

    return validate_fast


# --- the generated fast path ---------------------------------------------------------------------
# Loading validates every record of every load: hundreds of thousands per second. The closures
# above cost a function call, a try block and an error list per field; the fast path is one
# Python function per schema, generated as source text and compiled once, that only *accepts*:
# on anything it is not sure of (a missing required value, a wrong type, an invalid
# identifier, an unknown field, a NUL character, a str subclass…) it answers None and the record
# goes through the closures above, which produce the errors. What it accepts it normalises with
# the same converters and identifier rules, so its output is the closures' output
# (tests/catalog/test_fast_validator.py compares both on valid and invalid records). No library
# does this: the rules (coercion of CSV cells, Latvian identifiers) are our own.


def _compile_fast(fields: list[FieldDef], *, coerce: bool) -> Callable[[dict[str, Any]], Any]:
    namespace: dict[str, Any] = {
        "_Invalid": _Invalid,
        "_fromiso": date.fromisoformat,
        "_personal": identifiers.is_valid_plain_personal_code,
        "_normalise": identifiers.normalise,
        "_known": frozenset(f.name for f in fields),
    }
    lines = ["def accept(record):", "    out = {}", "    get = record.get"]
    for index, f in enumerate(fields):
        name = repr(f.name)
        missing = "v is None or v == ''" if coerce else "v is None"
        lines.append(f"    v = get({name})")
        lines.append(f"    if {missing}:")
        if f.required:
            lines.append("        return None")
        else:
            lines.append("        pass")
        lines.append("    else:")
        body = _fast_field(f, index, namespace, coerce)
        lines.extend("        " + line for line in body)
        lines.append(f"        out[{name}] = v")
    lines.append("    if len(record) != len(out) and not _known.issuperset(record):")
    lines.append("        return None")
    lines.append("    return out")
    exec(compile("\n".join(lines), "<dagr schema fast path>", "exec"), namespace)  # noqa: S102  # our own generated text: field names match NAME_RE and are written with repr
    accept: Callable[[dict[str, Any]], Any] = namespace["accept"]
    return accept


def _fast_field(f: FieldDef, index: int, namespace: dict[str, Any], coerce: bool) -> list[str]:
    """Source lines that turn ``v`` (not missing) into the stored value or return None."""
    if f.type == "list":
        assert f.fields is not None
        namespace[f"_list{index}"] = _list_checker(
            f.name, _compile_object(f.fields, prefix=f"{f.name}.", coerce=coerce)
        )
        return [
            "errors = []",
            f"v = _list{index}(v, errors)",
            "if errors:",
            "    return None",
        ]
    if f.type == "string":
        lines = [
            "if type(v) is not str or '\\x00' in v:",
            "    return None",
        ]
    elif f.type == "date":
        lines = [
            "if type(v) is not str:",
            "    return None",
        ]
        if coerce:
            lines.append("v = v.strip()")
        lines += [
            "if len(v) != 10:",
            "    return None",
            "try:",
            "    v = _fromiso(v).isoformat()",
            "except ValueError:",
            "    return None",
        ]
    else:
        namespace[f"_conv{index}"] = _CONVERTERS[f.type]
        lines = [
            "try:",
            f"    v = _conv{index}(v, {coerce!r})",
            "except _Invalid:",
            "    return None",
        ]
    kind = f.identifier
    if kind is None:
        return lines
    namespace[f"_valid{index}"] = identifiers.VALIDATORS.get(kind)
    namespace[f"_kind{index}"] = kind
    general = [
        f"if _valid{index} is not None and not _valid{index}(str(v)):",
        "    return None",
        "if isinstance(v, str):",
        f"    v = _normalise(_kind{index}, v)",
    ]
    if kind == identifiers.PERSONAL_CODE:
        # 11 plain digits: valid or not without compacting; nothing to normalise
        lines += [
            "if type(v) is str and len(v) == 11 and v.isascii() and v.isdigit():",
            "    if not _personal(v):",
            "        return None",
            "else:",
        ]
        lines += ["    " + line for line in general]
    elif kind == identifiers.ADDRESS_CODE:
        # 9 plain digits: valid (``^\d{9}$``), and stripping changes nothing
        lines += ["if not (type(v) is str and len(v) == 9 and v.isascii() and v.isdigit()):"]
        lines += ["    " + line for line in general]
    else:
        lines += general
    return lines


def _error(path: str, code: str, **params: Any) -> RecordError:
    message = str(MESSAGES.get(code, code))
    return RecordError(path, code, message % params if params else message)


def _compile_object(
    fields: list[FieldDef], *, prefix: str, coerce: bool
) -> Callable[[dict[str, Any], list[RecordError]], dict[str, Any]]:
    plan: list[tuple[str, str, bool, Callable[..., Any]]] = []
    for f in fields:
        path = f"{prefix}{f.name}"
        if f.type == "list":
            assert f.fields is not None
            inner = _compile_object(f.fields, prefix=f"{path}.", coerce=coerce)
            plan.append((f.name, path, f.required, _list_checker(path, inner)))
        else:
            plan.append((f.name, path, f.required, _scalar_checker(f, path, coerce)))
    known = {f.name for f in fields}

    def check(record: dict[str, Any], errors: list[RecordError]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, path, required, convert in plan:
            value = record.get(name)
            if value is None or (coerce and value == ""):
                if required:
                    errors.append(_error(path, "required"))
                continue
            converted = convert(value, errors)
            if converted is not None:
                out[name] = converted
        if len(record) > len(out) and not known.issuperset(record):
            errors.extend(_error(f"{prefix}{k}", "unknown_field") for k in record if k not in known)
        return out

    return check


def _scalar_checker(f: FieldDef, path: str, coerce: bool) -> Callable[..., Any]:
    convert = _CONVERTERS[f.type]
    kind = f.identifier
    is_valid = identifiers.VALIDATORS.get(kind) if kind else None

    def checker(value: Any, errors: list[RecordError]) -> Any:
        try:
            result = convert(value, coerce)
        except _Invalid as exc:
            errors.append(_error(path, exc.code, **exc.params))
            return None
        if is_valid is not None and not is_valid(str(result)):
            errors.append(_error(path, "invalid_identifier", kind=kind))
            return None
        if kind and isinstance(result, str):
            return identifiers.normalise(kind, result)
        return result

    return checker


def _list_checker(path: str, inner: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    def checker(value: Any, errors: list[RecordError]) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            errors.append(_error(path, "list"))
            return None
        return [inner(item, errors) for item in value]

    return checker


def extract_identifiers(schema: SchemaDef, record: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(path, value)]`` for every identifier value of a (valid, normalised) record, including
    values inside nested lists; values are strings, duplicates removed."""
    found: list[tuple[str, str]] = []
    _collect(schema.fields, record, "", found)
    return list(dict.fromkeys(found))


def _collect(
    fields: list[FieldDef], record: dict[str, Any], prefix: str, out: list[tuple[str, str]]
) -> None:
    for f in fields:
        value = record.get(f.name)
        if value is None:
            continue
        if f.identifier:
            out.append((f"{prefix}{f.name}", str(value)))
        elif f.fields and isinstance(value, list):
            for item in value:
                _collect(f.fields, item, f"{prefix}{f.name}.", out)
