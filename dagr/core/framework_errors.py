"""The framework's own validation errors (django-ninja / pydantic: a missing field, a wrong type,
a list too long), as the API reports them: one message per pydantic error type, translated
(Latvian by default, English with ``Accept-Language: en``), and the field named as the client
wrote it — ``values[3]`` or ``limit``, not ninja's ``body.body.values.3``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

# pydantic error type -> message; ``%(name)s`` takes the error's ``ctx`` values
MESSAGES: dict[str, Any] = {
    "missing": _("This field is required."),
    "string_type": _("The value must be text."),
    "int_type": _("The value must be a whole number."),
    "int_parsing": _("The value must be a whole number."),
    "int_from_float": _("The value must be a whole number."),
    "float_type": _("The value must be a number."),
    "float_parsing": _("The value must be a number."),
    "bool_type": _("The value must be true or false."),
    "bool_parsing": _("The value must be true or false."),
    "list_type": _("The value must be a list."),
    "dict_type": _("The value must be an object."),
    "model_type": _("The value must be an object."),
    "model_attributes_type": _("The value must be an object."),
    "too_short": _("The number of items must not be less than %(min_length)s."),
    "too_long": _("The number of items must not exceed %(max_length)s."),
    "string_too_short": _("The number of characters must not be less than %(min_length)s."),
    "string_too_long": _("The number of characters must not exceed %(max_length)s."),
    "string_pattern_mismatch": _("The value does not match the required format."),
    "greater_than_equal": _("The value must be at least %(ge)s."),
    "less_than_equal": _("The value must be at most %(le)s."),
    "greater_than": _("The value must be greater than %(gt)s."),
    "less_than": _("The value must be less than %(lt)s."),
    "json_invalid": _("The request body is not valid JSON."),
    "date_type": _("The value must be a date (YYYY-MM-DD)."),
    "date_parsing": _("The value must be a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _("The value must be a date (YYYY-MM-DD)."),
    "datetime_type": _("The value must be a date and time (ISO 8601)."),
    "datetime_parsing": _("The value must be a date and time (ISO 8601)."),
    "datetime_from_date_parsing": _("The value must be a date and time (ISO 8601)."),
    "literal_error": _("The value is not one of the allowed values."),
    "enum": _("The value is not one of the allowed values."),
    "extra_forbidden": _("This field is not expected."),
}
OTHER = _("The value is not valid.")
WRONG_TYPE = _("The value is of the wrong type.")
SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
# the tag pydantic adds to the location for each member of a union (``str | int``)
_UNION_TAG = re.compile(
    r"^(str|int|float|bool|list|dict|none|constrained-(str|int|float|bytes)|[\w-]+\[.*\])$"
)


def location(loc: Iterable[Any]) -> str:
    """``("body", "body", "values", 3)`` -> ``values[3]``; ``("query", "limit")`` -> ``limit``:
    the source and ninja's body parameter name dropped, list positions in brackets."""
    parts = list(loc)
    if parts and parts[0] in SOURCES:
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the handler's parameter name, not something the client wrote
    out = ""
    for n, part in enumerate(parts):
        if isinstance(part, int):
            out += f"[{part}]"
        elif n == len(parts) - 1 and n > 0 and _UNION_TAG.match(str(part)):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def message(error: dict[str, Any]) -> str:
    template = MESSAGES.get(str(error.get("type", "")), OTHER)
    context = error.get("ctx") or {}
    text = str(template)
    try:
        return text % dict(context) if "%(" in text else text
    except (KeyError, TypeError, ValueError):
        return str(OTHER)


def framework_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The errors as ``{"location", "code", "message"}``, one per location (a value failing
    every member of a union is one ``wrong_type`` error)."""
    by_location: dict[str, dict[str, str]] = {}
    for error in errors:
        where = location(error.get("loc", ()))
        if where in by_location:
            by_location[where] = {
                "location": where,
                "code": "wrong_type",
                "message": str(WRONG_TYPE),
            }
            continue
        by_location[where] = {
            "location": where,
            "code": str(error.get("type", "invalid")),
            "message": message(error),
        }
    return list(by_location.values())
