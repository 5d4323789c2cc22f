"""The filter form shared by the dashboard pages (GET: statistics hold no personal data, and a
filtered view can be bookmarked)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import DEFAULT_PERIOD, OPERATIONS, PERIOD_LABELS, Filters


class StatsFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"), choices=list(PERIOD_LABELS.items()), required=False
    )
    dataset = forms.ChoiceField(label=_("Dataset"), required=False)
    recipient = forms.ChoiceField(label=_("Recipient institution"), required=False)
    operation = forms.ChoiceField(label=_("Operation"), required=False)

    def __init__(
        self, *args: Any, choices: dict[str, list[tuple[str, str]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        every: list[tuple[str, Any]] = [("", _("all"))]
        for name, values in (
            ("dataset", choices["datasets"]),
            ("recipient", choices["recipients"]),
            ("operation", [(o, o) for o in OPERATIONS]),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [*every, *values]

    def filters(self) -> Filters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        recipient = data.get("recipient")
        return Filters(
            period=data.get("period") or DEFAULT_PERIOD,
            dataset=data.get("dataset") or "",
            recipient=int(recipient) if recipient else None,
            operation=data.get("operation") or "",
        )
