"""What a dataset's anonymisation is configured to be: its settings and the rule of every field
(the schema's defaults with the provider's overrides). Read by the services (to build) and the
selectors (to show); a module of its own because selectors never import services."""

from __future__ import annotations

from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.catalog.schema import SchemaDef, parse_schema
from dagr.core.errors import Conflict

from .models import TestDataSettings
from .rules import Rule, RuleSet

try:  # the engine branch adds these to rules.py; until it lands, the stand-in answers
    from .rules import default_rules, validate_rules  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover - depends on the merge state
    from .rule_defaults_stub import default_rules, validate_rules

__all__ = ["default_rules", "effective_rules", "schema_of", "settings_for", "validate_rules"]


def schema_of(dataset: Dataset) -> SchemaDef:
    if dataset.schema is None:
        raise Conflict(_("The dataset has no schema yet."), code="dataset_without_schema")
    return parse_schema(dataset.schema.definition)


def settings_for(dataset: Dataset) -> TestDataSettings:
    """The dataset's settings (unsaved defaults when the provider has not changed any)."""
    found = TestDataSettings.objects.filter(dataset=dataset).first()
    return found or TestDataSettings(dataset=dataset)


def effective_rules(dataset: Dataset, stored: TestDataSettings | None = None) -> RuleSet:
    """The default rule of every field (from the schema), with the provider's overrides."""
    rules: RuleSet = dict(default_rules(schema_of(dataset)))
    overrides = (stored or settings_for(dataset)).rules or {}
    for path, raw in overrides.items():
        if path in rules:
            rules[path] = Rule.model_validate(raw)
    return rules
