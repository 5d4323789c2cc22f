from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import UploadedFile


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Data file"),
        help_text=_(
            "CSV (comma, semicolon, tab or vertical bar; UTF-8 or Windows-1257), XLSX (the first "
            "sheet), JSON (an array of records) or NDJSON. The first row names the columns with "
            "the schema's field names; lists are written as JSON text in one cell."
        ),
    )
    mode = forms.ChoiceField(
        label=_("How to load"),
        choices=UploadedFile.Mode.choices,
        initial=UploadedFile.Mode.UPSERT,
        widget=forms.RadioSelect,
    )
    encoding = forms.ChoiceField(
        label=_("Text encoding (CSV)"),
        choices=[
            ("auto", _("detect automatically")),
            ("utf-8", "UTF-8"),
            ("windows-1257", "Windows-1257"),
        ],
        initial="auto",
    )
    delimiter = forms.ChoiceField(
        label=_("Column delimiter (CSV)"),
        choices=[
            ("auto", _("detect automatically")),
            (",", _("comma")),
            (";", _("semicolon")),
            ("\t", _("tab")),
            ("|", _("vertical bar")),
        ],
        initial="auto",
    )
