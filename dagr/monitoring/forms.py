"""Portal forms of record sets. Conditions reuse the grant condition rows (field, operator,
value…), limited to the top-level fields the grant shows; the services validate everything
again like API input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dagr.catalog.schema import SchemaDef
from dagr.catalog.selectors import schema_rows
from dagr.grants.conditions import MAX_CONDITIONS
from dagr.grants.forms import CONDITION_ROWS, ConditionRowForm, condition_rows

from .services import MAX_CSV_BYTES, MAX_NAME_LENGTH

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

REMOVE_MAX_CHARS = 300_000


class RecordSetForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=MAX_NAME_LENGTH)
    identifier_field = forms.ChoiceField(
        label=_("Identifier field"),
        required=False,
        help_text=_(
            "The field whose values you will list (upload them after creating the set). Choose "
            "“none” to define the set by conditions only."
        ),
    )

    def __init__(self, *args: Any, schema: SchemaDef, granted: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = set(granted)
        titles = {row.path: row.title for row in schema_rows(schema)}
        choices: list[tuple[str, StrOrPromise]] = [("", _("none — conditions only"))]
        choices += [
            (path, f"{titles.get(path, path)} ({path})")
            for path, _kind in schema.identifier_paths()
            if path in allowed
        ]
        self.fields["identifier_field"].choices = choices  # type: ignore[attr-defined]  # fields[] is typed Field
        if len(choices) > 1:
            self.fields["identifier_field"].initial = choices[1][0]


class RecordSetEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=MAX_NAME_LENGTH)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def condition_row_initial(condition: dict[str, Any]) -> dict[str, str]:
    """The text inputs of one condition row showing a stored condition (the inverse of
    ``parse_condition_input``)."""
    op, value = condition.get("op", ""), condition.get("value")
    row = {"field": condition.get("field", ""), "op": op, "value": "", "value_to": "", "unit": ""}
    if op in ("older_than", "newer_than") and isinstance(value, dict) and value:
        unit, amount = next(iter(value.items()))
        row.update(value=_text(amount), unit=unit)
    elif op == "in" and isinstance(value, list):
        row["value"] = "; ".join(_text(v) for v in value)
    elif op == "between" and isinstance(value, list) and len(value) == 2:
        row.update(value=_text(value[0]), value_to=_text(value[1]))
    elif op not in ("empty", "not_empty"):
        row["value"] = _text(value)
    return row


def record_set_condition_rows(
    data: Any,
    schema: SchemaDef,
    granted: list[str],
    *,
    conditions: list[dict[str, Any]] | None = None,
) -> list[ConditionRowForm]:
    """The grant condition rows, offering only granted top-level fields; ``conditions`` fill the
    first rows (with at least one empty row after them)."""
    conditions = conditions or []
    count = min(max(CONDITION_ROWS, len(conditions) + 1), MAX_CONDITIONS)
    if data is not None:  # as many rows as the page that was posted had
        posted = [k.split("-", 1)[0] for k in data if k.startswith("c") and "-" in k]
        numbers = [int(p[1:]) for p in posted if p[1:].isdigit()]
        count = min(max([CONDITION_ROWS, *(n + 1 for n in numbers)]), MAX_CONDITIONS)
    rows = condition_rows(data, schema, rows=count)
    if data is None:
        for row, condition in zip(rows, conditions, strict=False):
            row.initial = condition_row_initial(condition)
    allowed = set(granted)
    for row in rows:
        field = row.fields["field"]
        field.choices = [  # type: ignore[attr-defined]  # fields[] is typed Field
            (value, label)
            for value, label in field.choices  # type: ignore[attr-defined]  # fields[] is typed Field
            if value == "" or value in allowed
        ]
    return rows


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "One value per line, or a column named like the identifier field; a header row is "
            "optional. UTF-8, at most %(mb)s MB."
        )
        % {"mb": MAX_CSV_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    mode = forms.ChoiceField(
        label=_("What to do with the values"),
        choices=[
            ("add", _("Add them to the values already watched")),
            ("replace", _("Replace every watched value with the file's values")),
        ],
        initial="add",
        widget=forms.RadioSelect,
    )


class RemoveForm(forms.Form):
    values = forms.CharField(
        label=_("Values to stop watching"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=REMOVE_MAX_CHARS,
        help_text=_("One value per line (at most 10,000)."),
    )

    def value_list(self) -> list[str]:
        text = self.cleaned_data["values"]
        return [line.strip() for line in text.splitlines() if line.strip()]
