"""Which fields of a record a grant shows: field paths made canonical against the schema
(``normalize_fields``), compiled once into a tree (``field_tree``, kept in the grant cache) and
applied to each record (``project_fields``). Split from ``conditions`` (which decides *which
records*); both are the grants app's one answer to "what does this recipient see"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dagr.catalog.schema import SchemaDef
from dagr.core.errors import ValidationError

from .conditions import _message

FieldTree = dict[str, "FieldTree | None"]


def normalize_fields(raw: Any, schema: SchemaDef) -> list[str]:
    """Check a list of field paths against the schema and make it canonical: a list field named
    alone means all of its nested fields; a nested field brings its list along. Returns the
    sorted paths in schema order. Raises ``ValidationError`` (``invalid_fields``)."""
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValidationError(
            _("Choose the fields as a list of field paths."),
            code="invalid_fields",
            errors=[{"location": "fields", "code": "invalid_fields", "message": ""}],
        )
    paths = dict(schema.field_paths())
    unknown = [p for p in raw if p not in paths]
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(u[:100] for u in unknown[:10])},
            code="invalid_fields",
            errors=[
                {
                    "location": "fields",
                    "code": "unknown_field",
                    "message": _message("unknown_field", field=u[:100]),
                }
                for u in unknown
            ],
        )
    if not raw:
        raise ValidationError(
            _("Choose at least one field."),
            code="invalid_fields",
            errors=[
                {
                    "location": "fields",
                    "code": "no_fields",
                    "message": gettext("Choose at least one field."),
                }
            ],
        )
    chosen = set(raw)
    for path in list(chosen):
        parts = path.split(".")
        chosen.update(".".join(parts[:i]) for i in range(1, len(parts)))
    for path in list(chosen):
        if paths[path].type == "list" and not any(p.startswith(path + ".") for p in chosen):
            chosen.update(p for p in paths if p.startswith(path + "."))
    return [p for p in paths if p in chosen]


def field_tree(fields: Iterable[str]) -> FieldTree:
    tree: FieldTree = {}
    for path in fields:
        node = tree
        parts = path.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node.setdefault(parts[-1], None)
    return tree


def project_fields(data: dict[str, Any], fields: Iterable[str] | FieldTree) -> dict[str, Any]:
    """The record reduced to the granted fields. A list field keeps, in each of its items, only
    the granted nested fields. Missing fields stay missing."""
    tree = fields if isinstance(fields, dict) else field_tree(fields)
    return _project(data, tree)


def _project(data: dict[str, Any], tree: FieldTree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in tree.items():
        if name not in data:
            continue
        value = data[name]
        if sub is not None and isinstance(value, list):
            out[name] = [_project(item, sub) if isinstance(item, dict) else item for item in value]
        elif sub is not None and isinstance(value, dict):
            out[name] = _project(value, sub)
        else:
            out[name] = value
    return out
