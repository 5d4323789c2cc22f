"""Portal forms of grants. Conditions are entered as rows of text inputs (field, operator,
value, second value, unit) and turned into condition documents by
``conditions.parse_condition_input``; the services validate them like API input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dagr.catalog.schema import SCALAR_TYPES, SchemaDef
from dagr.catalog.selectors import schema_rows

from .conditions import OPERATOR_LABELS, OPERATORS, parse_condition_input

if TYPE_CHECKING:
    from dagr.accounts.models import Institution

CONDITION_ROWS = 4
UNITS = [("years", _("years")), ("months", _("months")), ("days", _("days"))]


def field_choices(schema: SchemaDef, only: list[str] | None = None) -> list[tuple[str, str]]:
    """Checkbox choices: every scalar field, nested ones labelled with their list."""
    rows = schema_rows(schema)
    titles = {row.path: row.title for row in rows}
    choices: list[tuple[str, str]] = []
    for row in rows:
        if row.field.type not in SCALAR_TYPES or (only is not None and row.path not in only):
            continue
        parts = row.path.split(".")
        label = " › ".join(titles[".".join(parts[: i + 1])] for i in range(len(parts)))
        choices.append((row.path, f"{label} ({row.path})"))
    return choices


def condition_field_choices(schema: SchemaDef) -> list[tuple[str, str]]:
    rows = schema_rows(schema)
    return [("", "—")] + [
        (row.path, f"{row.title} ({row.path})")
        for row in rows
        if row.depth == 0 and row.field.type in SCALAR_TYPES
    ]


class ConditionRowForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), required=False)
    op = forms.ChoiceField(
        label=_("Operator"),
        required=False,
        choices=[("", "—")] + [(op, OPERATOR_LABELS[op]) for op in OPERATORS],
    )
    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=2000,
        help_text=_(
            "Dates as YYYY-MM-DD; several values for “is one of” separated by semicolons; "
            "a number of years, months or days for “older / newer than”."
        ),
    )
    value_to = forms.CharField(
        label=_("Second value (for “between”)"), required=False, max_length=200
    )
    unit = forms.ChoiceField(label=_("Unit"), required=False, choices=UNITS)

    def __init__(self, *args: Any, schema: SchemaDef, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = schema
        self.fields["field"].choices = condition_field_choices(schema)  # type: ignore[attr-defined]  # fields[] is typed Field

    def condition(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not data.get("field") and not data.get("op"):
            return None
        return parse_condition_input(
            self.schema,
            field=data.get("field") or "",
            op=data.get("op") or "",
            value=data.get("value") or "",
            value_to=data.get("value_to") or "",
            unit=data.get("unit") or "years",
        )


def condition_rows(
    data: Any, schema: SchemaDef, *, rows: int = CONDITION_ROWS
) -> list[ConditionRowForm]:
    return [ConditionRowForm(data, schema=schema, prefix=f"c{n}") for n in range(rows)]


def conditions_from_rows(row_forms: list[ConditionRowForm]) -> list[dict[str, Any]] | None:
    """The entered conditions, or None when a row is not valid (errors are on the rows)."""
    if not all(form.is_valid() for form in row_forms):
        return None
    return [c for form in row_forms if (c := form.condition()) is not None]


class GrantRequestForm(forms.Form):
    recipient: forms.ModelChoiceField[Institution] = forms.ModelChoiceField(
        queryset=None, label=_("Recipient institution")
    )
    fields_ = forms.MultipleChoiceField(
        label=_("Fields"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Request only the fields your institution needs for the purpose."),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_(
            "The law or regulation, with its section, that allows you to receive the data."
        ),
    )
    purpose = forms.CharField(
        label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )

    def __init__(self, *args: Any, schema: SchemaDef, institutions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = institutions  # type: ignore[attr-defined]  # fields[] is typed Field
        if institutions.count() == 1:
            self.fields["recipient"].initial = institutions.first()
        self.fields["fields_"].choices = field_choices(schema)  # type: ignore[attr-defined]  # fields[] is typed Field


class GrantApproveForm(forms.Form):
    fields_ = forms.MultipleChoiceField(
        label=_("Approved fields"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Clear a field to leave it out of the grant."),
    )
    permission_number = forms.CharField(
        label=_("Permission number"),
        max_length=100,
        help_text=_("The external approval reference; systems send it with every request."),
    )
    valid_from = forms.DateField(
        label=_("Valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for no end date."),
    )
    quota = forms.IntegerField(
        label=_("Requests per day"),
        required=False,
        min_value=1,
        help_text=_("Leave empty for no limit."),
    )
    note = forms.CharField(
        label=_("Note to the recipient"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
    )

    def __init__(self, *args: Any, schema: SchemaDef, requested: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fields_"].choices = field_choices(schema, only=requested)  # type: ignore[attr-defined]  # fields[] is typed Field
        self.fields["fields_"].initial = requested


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )
