"""CKAN's field errors in the publisher's words: which of our fields a CKAN field is, and what a
CKAN message means (CKAN answers in English with its own texts; the known ones are explained in
the page's language, an unknown one is shown as CKAN wrote it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

FIELD_LABELS: dict[str, Promise] = {
    "name": gettext_lazy("Name in the portal (web address)"),
    "owner_org": gettext_lazy("Organisation in the portal"),
    "title": gettext_lazy("Title"),
    "title_translated": gettext_lazy("Title"),
    "notes": gettext_lazy("Description"),
    "notes_translated": gettext_lazy("Description"),
    "tags_translated": gettext_lazy("Keywords"),
    "contact": gettext_lazy("Contact point"),
    "publisher": gettext_lazy("Publisher"),
    "license_id": gettext_lazy("Licence"),
    "url": gettext_lazy("Landing page"),
    "issued": gettext_lazy("Release date"),
    "modified": gettext_lazy("Modification date"),
    "version": gettext_lazy("Version"),
    "frequency": gettext_lazy("Update frequency"),
    "theme": gettext_lazy("Themes"),
    "language": gettext_lazy("Languages"),
    "access_rights": gettext_lazy("Access rights"),
    "spatial_coverage": gettext_lazy("Spatial coverage"),
    "temporal_coverage": gettext_lazy("Temporal coverage"),
    "resources": gettext_lazy("Distributions"),
    "state": gettext_lazy("State"),
}
LANGUAGE_NAMES: dict[str, Promise] = {
    "lv": gettext_lazy("in Latvian"),
    "en": gettext_lazy("in English"),
}
_REQUIRED_LANGUAGE = re.compile(r'^Required language "([\w-]+)" missing$')
_TAG = re.compile(
    r'^Tag "(.*)" (length is less than minimum|length is more than maximum|must be alphanumeric)'
)


@dataclass(frozen=True)
class FieldProblem:
    field: str
    label: str
    messages: list[str]


def explain(message: str) -> str:
    """One CKAN message in the publisher's words."""
    known = {
        "Missing value": _("The portal requires a value here."),
        "That URL is already in use.": _(
            "Another dataset in the portal already uses this name; choose a different one."
        ),
        "That name cannot be used": _("The portal reserves this name; choose a different one."),
        "Must be at least 2 characters long": _("The name must be at least 2 characters long."),
        "Name must be a maximum of 100 characters long": _(
            "The name must be at most 100 characters long."
        ),
        "Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_": _(
            "Use only lowercase Latin letters, digits, - and _."
        ),
        "Organization does not exist": _(
            "The organisation named in the portal settings does not exist in the portal."
        ),
        "You cannot add a dataset to this organization": _(
            "The API token's user may not add datasets to this organisation in the portal."
        ),
        "Date format incorrect": _("The portal does not accept this date; use YYYY-MM-DD."),
    }
    if message in known:
        return known[message]
    match = _REQUIRED_LANGUAGE.match(message)
    if match:
        language = str(LANGUAGE_NAMES.get(match.group(1), match.group(1)))
        return _("The portal requires the text %(language)s too.") % {"language": language}
    match = _TAG.match(message)
    if match:
        return _(
            "The keyword “%(tag)s” is not accepted: use 2–100 letters, digits, spaces, - _ or ."
        ) % {"tag": match.group(1)}
    return message


def _flatten(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _flatten(item)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _flatten(item)]
    return [str(value)] if value is not None else []


def field_problems(field_errors: dict[str, Any]) -> list[FieldProblem]:
    """CKAN's ``{"field": ["message", …]}`` (resources: a list of such per resource) as rows."""
    rows = []
    for key, value in sorted(field_errors.items()):
        texts = list(dict.fromkeys(explain(text) for text in _flatten(value)))
        if texts:
            rows.append(FieldProblem(key, str(FIELD_LABELS.get(key, key)), texts))
    return rows
