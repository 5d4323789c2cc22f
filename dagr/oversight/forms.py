"""Filter forms of the access-audit pages. Dates are whole days in local time: ``since`` from the
start of its day, ``until`` to the end of its day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution
from dagr.audit.access_selectors import MAX_IDENTIFIER_LENGTH

IDENTIFIER_HELP = _(
    "A personal code (with or without the hyphen) or another identifier. It is used only for "
    "this search and is not stored: the audit keeps a one-way keyed hash of it."
)


def _day_start(day: date | None) -> datetime | None:
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


class PeriodForm(forms.Form):
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("since", "until"):
            day = data.get(name)
            if day and not 1970 <= day.year <= 8999:
                self.add_error(name, _("The period must lie between the years 1970 and 8999."))
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data

    def period(self) -> dict[str, datetime | None]:
        until = self.cleaned_data.get("until")
        return {
            "since": _day_start(self.cleaned_data.get("since")),
            "until": _day_start(until + timedelta(days=1)) if until else None,
        }


class AccessFilterForm(PeriodForm):
    """A provider's filters over the audit of one dataset."""

    recipient = forms.ModelChoiceField(
        label=_("Recipient"),
        required=False,
        queryset=Institution.objects.filter(
            kind__in=[Institution.Kind.RECIPIENT, Institution.Kind.BOTH]
        ).order_by("name"),
        empty_label=_("All recipients"),
    )
    identifier = forms.CharField(
        label=_("Identifier"),
        required=False,
        max_length=MAX_IDENTIFIER_LENGTH,
        help_text=IDENTIFIER_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def filters(self) -> dict[str, Any]:
        recipient = self.cleaned_data.get("recipient")
        return {
            **self.period(),
            "recipient_institution_id": recipient.pk if recipient else None,
            "identifier": self.cleaned_data.get("identifier", "").strip(),
        }


class WhoReadForm(PeriodForm):
    """An administrator's question: who read the data of the person with this identifier."""

    identifier = forms.CharField(
        label=_("Personal code or other identifier"),
        max_length=MAX_IDENTIFIER_LENGTH,
        help_text=IDENTIFIER_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    field_order = ["identifier", "since", "until"]

    def clean_identifier(self) -> str:
        value = self.cleaned_data["identifier"].strip()
        if not "".join(value.split()).replace("-", ""):
            raise forms.ValidationError(_("Enter an identifier."))
        return value
