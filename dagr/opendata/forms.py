"""The metadata form (a dataset's DCAT-AP description, lv and en side by side) and the template
form. Controlled fields are chosen from the shipped vocabularies and hold IRIs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dagr.catalog.models import Dataset

from . import vocabularies as v
from .models import TEMPLATE_FIELDS, DatasetMetadata, MetadataTemplate
from .services import OWN_FIELDS

# Pairs shown side by side: (Latvian field, English field).
PAIRS: tuple[tuple[str, str], ...] = (
    ("title_lv", "title_en"),
    ("description_lv", "description_en"),
    ("keywords_lv", "keywords_en"),
    ("publisher_name_lv", "publisher_name_en"),
    ("contact_name_lv", "contact_name_en"),
    ("provenance_lv", "provenance_en"),
    ("rights_lv", "rights_en"),
    ("version_notes_lv", "version_notes_en"),
)
CATALOG_FIELDS = ("title_lv", "title_en", "description_lv", "description_en")
LIST_FIELDS = ("keywords_lv", "keywords_en", "conforms_to")


def _blank(choices: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    return [("", _("— not chosen —")), *choices]


def _vocab_choice(label: Any, key: str, **kw: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=lambda: _blank(v.VOCABULARIES[key].choices()),
        **kw,
    )


def _vocab_multi(label: Any, choices: Any, **kw: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, required=False, choices=choices, widget=forms.CheckboxSelectMultiple, **kw
    )


def _text(label: Any, *, rows: int = 0, **kw: Any) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    return forms.CharField(label=label, required=False, widget=widget, **kw)


class DescribedFieldsForm(forms.Form):
    """The fields a template and a dataset share."""

    publisher_name_lv = _text(
        _("Publisher in Latvian"),
        max_length=255,
        help_text=_("Empty: the provider institution's name."),
    )
    publisher_name_en = _text(_("Publisher in English"), max_length=255)
    publisher_url = forms.URLField(label=_("Publisher's web address"), required=False)
    contact_name_lv = _text(_("Contact point in Latvian"), max_length=255)
    contact_name_en = _text(_("Contact point in English"), max_length=255)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    contact_url = forms.URLField(label=_("Contact web address"), required=False)
    licence = _vocab_choice(_("Licence"), "licence")
    access_rights = _vocab_choice(
        _("Access rights"),
        "access-right",
        help_text=_("Public: the data export becomes a distribution too."),
    )
    themes = _vocab_multi(_("Data themes"), lambda: v.DATA_THEME.choices())
    frequency = _vocab_choice(_("Update frequency"), "frequency")
    spatial = _vocab_multi(_("Spatial coverage"), lambda: [(c.iri, c.label) for c in v.SPATIAL])
    conforms_to = _text(
        _("Conforms to (standards)"),
        rows=2,
        help_text=_("Web addresses of standards or schemas, one per line."),
    )
    languages = _vocab_multi(_("Languages of the data"), lambda: v.LANGUAGE.choices())

    def clean_conforms_to(self) -> list[str]:
        urls = [u.strip() for u in self.cleaned_data.get("conforms_to", "").splitlines()]
        validator = forms.URLField()
        out = []
        for url in filter(None, urls):
            out.append(validator.clean(url))
        return out

    def described_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in TEMPLATE_FIELDS}


def _initial(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(obj, name)
        if name in LIST_FIELDS:
            value = ("\n" if name == "conforms_to" else ", ").join(value)
        out[name] = value
    return out


class MetadataForm(DescribedFieldsForm):
    title_lv = forms.CharField(label=_("Title in Latvian"), max_length=255)
    title_en = forms.CharField(label=_("Title in English"), max_length=255)
    description_lv = _text(_("Description in Latvian"), rows=4)
    description_en = _text(_("Description in English"), rows=4)
    keywords_lv = _text(_("Keywords in Latvian"), help_text=_("Separated by commas."))
    keywords_en = _text(_("Keywords in English"), help_text=_("Separated by commas."))
    temporal_start = forms.DateField(
        label=_("Period covered from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    temporal_end = forms.DateField(
        label=_("Period covered until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    documentation = forms.URLField(label=_("Documentation (web address)"), required=False)
    version = _text(_("Version"), max_length=50)
    version_notes_lv = _text(_("Version notes in Latvian"), rows=2)
    version_notes_en = _text(_("Version notes in English"), rows=2)
    provenance_lv = _text(
        _("Provenance in Latvian"),
        rows=2,
        help_text=_("Where the data comes from and how it is kept."),
    )
    provenance_en = _text(_("Provenance in English"), rows=2)
    rights_lv = _text(_("Rights statement in Latvian"), rows=2)
    rights_en = _text(_("Rights statement in English"), rows=2)
    distribution_status = _vocab_choice(_("Distribution status"), "distribution-status")

    @classmethod
    def for_dataset(cls, dataset: Dataset, meta: DatasetMetadata, **kw: Any) -> MetadataForm:
        initial = _initial(dataset, CATALOG_FIELDS) | _initial(meta, TEMPLATE_FIELDS + OWN_FIELDS)
        return cls(initial=initial, **kw)

    def _keywords(self, name: str) -> list[str]:
        words = [w.strip() for w in self.cleaned_data.get(name, "").split(",")]
        return list(dict.fromkeys(w[:100] for w in words if w))

    def clean_keywords_lv(self) -> list[str]:
        return self._keywords("keywords_lv")

    def clean_keywords_en(self) -> list[str]:
        return self._keywords("keywords_en")

    def catalog_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in CATALOG_FIELDS}

    def metadata_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in TEMPLATE_FIELDS + OWN_FIELDS}


class TemplateForm(DescribedFieldsForm):
    name = forms.CharField(label=_("Template name"), max_length=120)

    field_order = ["name"]

    @classmethod
    def for_template(cls, template: MetadataTemplate, **kw: Any) -> TemplateForm:
        return cls(initial={"name": template.name} | _initial(template, TEMPLATE_FIELDS), **kw)


class ApplyTemplateForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Template"), queryset=MetadataTemplate.objects.none())

    def __init__(self, *args: Any, templates: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        field = self.fields["template"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = templates
