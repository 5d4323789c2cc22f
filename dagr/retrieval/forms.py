"""Forms of the data viewer: look up by an identifier, or browse with equality filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MAX_VALUE_LENGTH

FILTER_PREFIX = "f_"


class LookupForm(forms.Form):
    field = forms.ChoiceField(label=_("Identifier field"))
    value = forms.CharField(label=_("Identifier value"), max_length=MAX_VALUE_LENGTH)

    def __init__(self, data: Any, *, identifiers: list[tuple[str, str]]) -> None:
        super().__init__(data, prefix="lookup")
        self.fields["field"].choices = identifiers  # type: ignore[attr-defined]  # fields[] is typed Field


class BrowseForm(forms.Form):
    """One optional text input per granted top-level field that can be filtered."""

    def __init__(self, data: Any, *, filterable: list[tuple[str, str]]) -> None:
        super().__init__(data, prefix="browse")
        for name, title in filterable:
            self.fields[FILTER_PREFIX + name] = forms.CharField(
                label=title, required=False, max_length=MAX_VALUE_LENGTH
            )

    def filters(self) -> dict[str, str]:
        return {
            key.removeprefix(FILTER_PREFIX): value.strip()
            for key, value in self.cleaned_data.items()
            if key.startswith(FILTER_PREFIX) and value and value.strip()
        }
