"""A stand-in for ``rules.default_rules`` / ``rules.validate_rules`` until the engine branch
lands them in ``rules.py`` (issue #13): ``services`` imports them from ``rules`` when present,
else from here. Deliberately minimal — the engine's own versions decide the real defaults."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from pydantic import ValidationError as PydanticValidationError

from dagr.catalog.schema import SchemaDef

from .rules import Rule, RuleSet

NAME_GENERATORS = ("first_name", "last_name", "email", "phone")


def _default(path: str, field: Any) -> Rule:
    name = path.rsplit(".", 1)[-1]
    if field.identifier:
        return Rule(kind="pseudonymise")
    if not field.personal:
        return Rule(kind="keep")
    for generator in NAME_GENERATORS:
        if generator in name:
            return Rule(kind="fake", params={"generator": generator})
    if field.type == "date":
        return Rule(kind="date_shift")
    if field.type in ("integer", "decimal"):
        return Rule(kind="generalise", params={"band": 10})
    if name in ("gender", "sex"):
        return Rule(kind="fake", params={"generator": "gender"})
    return Rule(kind="mask")


def default_rules(schema: SchemaDef) -> RuleSet:
    return {
        path: _default(path, field) for path, field in schema.field_paths() if field.type != "list"
    }


def validate_rules(schema: SchemaDef, rules: dict[str, Any]) -> list[dict[str, str]]:
    fields = {path: field for path, field in schema.field_paths() if field.type != "list"}
    problems: list[dict[str, str]] = []
    for path, raw in rules.items():
        field = fields.get(path)
        if field is None:
            problems.append({"path": path, "message": _("The dataset has no such field.")})
            continue
        try:
            rule = raw if isinstance(raw, Rule) else Rule.model_validate(raw)
        except PydanticValidationError:
            problems.append({"path": path, "message": _("This rule is not valid.")})
            continue
        if rule.kind == "keep" and (field.personal or field.identifier):
            problems.append(
                {
                    "path": path,
                    "message": _("Personal data and identifiers cannot be kept as they are."),
                }
            )
    return problems
