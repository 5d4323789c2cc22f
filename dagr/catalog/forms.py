"""Portal forms of the catalogue. The schema arrives as YAML text or as an uploaded .yaml file;
the form turns it into a schema document and keeps every problem (with its YAML line) in
``schema_errors`` so the page can show them next to the editor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dagr.core.actors import Actor
from dagr.core.errors import ValidationError as DomainValidationError
from dagr.permissions import rules

from . import services
from .models import Dataset
from .schema import SchemaDef

if TYPE_CHECKING:
    from dagr.accounts.models import Institution

YAML_EXTENSIONS = (".yaml", ".yml")


class SchemaInputMixin(forms.Form):
    """Reads ``schema_yaml`` (textarea) or ``schema_file`` (upload; wins when given)."""

    schema_yaml = forms.CharField(
        label=_("Schema (YAML)"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"class": "code", "rows": 24, "spellcheck": "false"}),
    )
    schema_file = forms.FileField(
        label=_("…or upload a schema file (.yaml)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml"}),
    )

    schema_text: str = ""
    schema_errors: list[dict[str, Any]]
    parsed_schema: SchemaDef | None = None

    def _read_schema(self) -> None:
        self.schema_errors = []
        upload = self.cleaned_data.get("schema_file")
        text = self.cleaned_data.get("schema_yaml") or ""
        if upload:
            if not upload.name.lower().endswith(YAML_EXTENSIONS):
                self.add_error("schema_file", gettext("Upload a .yaml or .yml file."))
                return
            if upload.size > settings.DAGR_SCHEMA_UPLOAD_MAX_BYTES:
                self.add_error(
                    "schema_file",
                    gettext("The file is too large (at most %(limit)s bytes).")
                    % {"limit": settings.DAGR_SCHEMA_UPLOAD_MAX_BYTES},
                )
                return
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("schema_file", gettext("The schema file must be UTF-8 text."))
                return
        self.schema_text = text
        if not text.strip():
            self.add_error("schema_yaml", gettext("Enter the schema or upload a schema file."))
            return
        try:
            self.parsed_schema = services.schema_parse_yaml(text)
        except DomainValidationError as exc:
            self.schema_errors = exc.errors or [{"location": "", "message": str(exc.message)}]
            self.add_error("schema_yaml", str(exc.message))
            return
        self.cleaned_data["schema"] = self.parsed_schema.as_document()


class DatasetCreateForm(SchemaInputMixin):
    provider: forms.ModelChoiceField[Institution] = forms.ModelChoiceField(
        label=_("Provider institution"), queryset=None
    )
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        help_text=_(
            "Stable and part of addresses: 3–64 lowercase letters, digits and hyphens, "
            "e.g. persons or company-register."
        ),
    )
    title_lv = forms.CharField(label=_("Title in Latvian"), max_length=255)
    title_en = forms.CharField(label=_("Title in English"), max_length=255)
    description_lv = forms.CharField(
        label=_("Description in Latvian"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    description_en = forms.CharField(
        label=_("Description in English"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    field_order = [
        "provider",
        "code",
        "title_lv",
        "title_en",
        "description_lv",
        "description_en",
        "schema_yaml",
        "schema_file",
    ]

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = rules.provider_institutions(actor).order_by("name")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._read_schema()
        return cleaned


class DatasetMetadataForm(forms.Form):
    title_lv = forms.CharField(label=_("Title in Latvian"), max_length=255)
    title_en = forms.CharField(label=_("Title in English"), max_length=255)
    description_lv = forms.CharField(
        label=_("Description in Latvian"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    description_en = forms.CharField(
        label=_("Description in English"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    @classmethod
    def for_dataset(cls, dataset: Dataset) -> DatasetMetadataForm:
        return cls(initial={name: getattr(dataset, name) for name in services.METADATA_FIELDS})


class SchemaEditForm(SchemaInputMixin):
    note = forms.CharField(
        label=_("Change note"),
        max_length=255,
        required=False,
        help_text=_("Why the schema changes; shown in the version history."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._read_schema()
        return cleaned
