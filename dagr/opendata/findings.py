"""SHACL results in plain words, next to the form field they concern.

A result names a node (the dataset, a distribution, the contact point, the publisher, the period)
and a property; ``FIELD_OF`` maps that to the metadata form's field, ``LABELS`` to what the field
is called, and ``explain`` to a sentence in the page's language. Results no field explains (for
example about a distribution DAGR generates) are shown above the form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDFS

from .dcat import ADMS, DCAT_VERSION, VCARD
from .validation import Finding

GENERAL = "__all__"

# (kind of node, property IRI) → form field; kinds: dataset, distribution, contact, publisher,
# temporal, provenance, rights.
FIELD_OF: dict[tuple[str, str], str] = {
    ("dataset", str(DCTERMS.title)): "title_lv",
    ("dataset", str(DCTERMS.description)): "description_lv",
    ("dataset", str(DCAT.keyword)): "keywords_lv",
    ("dataset", str(DCAT.theme)): "themes",
    ("dataset", str(DCTERMS.publisher)): "publisher_name_lv",
    ("dataset", str(DCAT.contactPoint)): "contact_email",
    ("dataset", str(DCTERMS.spatial)): "spatial",
    ("dataset", str(DCTERMS.temporal)): "temporal_start",
    ("dataset", str(DCTERMS.accrualPeriodicity)): "frequency",
    ("dataset", str(DCTERMS.language)): "languages",
    ("dataset", str(DCTERMS.accessRights)): "access_rights",
    ("dataset", str(DCTERMS.conformsTo)): "conforms_to",
    ("dataset", str(FOAF.page)): "documentation",
    ("dataset", str(DCTERMS.provenance)): "provenance_lv",
    ("dataset", str(DCAT_VERSION)): "version",
    ("dataset", str(ADMS.versionNotes)): "version_notes_lv",
    ("distribution", str(DCTERMS.license)): "licence",
    ("distribution", str(ADMS.status)): "distribution_status",
    ("distribution", str(DCTERMS.rights)): "rights_lv",
    ("contact", str(VCARD.fn)): "contact_name_lv",
    ("contact", str(VCARD.hasEmail)): "contact_email",
    ("contact", str(VCARD.hasURL)): "contact_url",
    ("publisher", str(FOAF.name)): "publisher_name_lv",
    ("publisher", str(DCTERMS.type)): "publisher_name_lv",
    ("temporal", str(DCAT.startDate)): "temporal_start",
    ("temporal", str(DCAT.endDate)): "temporal_end",
    ("provenance", str(RDFS.label)): "provenance_lv",
    ("rights", str(RDFS.label)): "rights_lv",
}

LABELS: dict[str, Promise] = {
    "title_lv": gettext_lazy("title"),
    "description_lv": gettext_lazy("description"),
    "keywords_lv": gettext_lazy("keywords"),
    "themes": gettext_lazy("data theme"),
    "publisher_name_lv": gettext_lazy("publisher"),
    "contact_email": gettext_lazy("contact point"),
    "contact_name_lv": gettext_lazy("contact point's name"),
    "contact_url": gettext_lazy("contact web address"),
    "spatial": gettext_lazy("spatial coverage"),
    "temporal_start": gettext_lazy("period covered"),
    "temporal_end": gettext_lazy("end of the period covered"),
    "frequency": gettext_lazy("update frequency"),
    "languages": gettext_lazy("language"),
    "access_rights": gettext_lazy("access rights"),
    "conforms_to": gettext_lazy("standard"),
    "documentation": gettext_lazy("documentation"),
    "provenance_lv": gettext_lazy("provenance"),
    "version": gettext_lazy("version"),
    "version_notes_lv": gettext_lazy("version notes"),
    "licence": gettext_lazy("licence"),
    "distribution_status": gettext_lazy("distribution status"),
    "rights_lv": gettext_lazy("rights statement"),
}


@dataclass(frozen=True, slots=True)
class Shown:
    field: str
    severity: str  # violation | warning
    text: str


def node_kind(focus: str, dataset_iri: str) -> str:
    page = dataset_iri.split("#", 1)[0]
    if focus == dataset_iri:
        return "dataset"
    if focus.startswith(f"{page}#distribution-"):
        return "distribution"
    if focus == f"{page}#contact":
        return "contact"
    if focus.endswith("#publisher"):
        return "publisher"
    for kind in ("temporal", "provenance", "rights"):
        if focus.endswith(f"-{kind}"):
            return kind
    return "other"


def explain(finding: Finding, dataset_iri: str) -> Shown:
    kind = node_kind(finding.focus, dataset_iri)
    field = FIELD_OF.get((kind, finding.path), GENERAL)
    name = str(LABELS.get(field, _("a generated part of the description")))
    if (
        kind == "dataset"
        and finding.path == str(DCTERMS.publisher)
        and (finding.constraint == "NodeConstraintComponent" and finding.severity != "violation")
    ):
        text = _(
            "The publisher is not in the EU list of corporate bodies; usual for a Latvian "
            "institution, nothing to do."
        )
    elif finding.constraint == "MinCountConstraintComponent":
        if finding.severity == "violation":
            text = _("Required: fill in the %(name)s.") % {"name": name}
        else:
            text = _("Recommended: add the %(name)s — it helps people find and reuse the data.") % {
                "name": name
            }
    elif finding.constraint == "MaxCountConstraintComponent":
        text = _("Too many values of the %(name)s.") % {"name": name}
    else:
        text = _("The %(name)s does not fit DCAT-AP (%(rule)s).") % {
            "name": name,
            "rule": finding.constraint.removesuffix("ConstraintComponent"),
        }
    return Shown(field, finding.severity, text)


def by_field(findings: Iterable[Finding], dataset_iri: str) -> dict[str, list[Shown]]:
    """Plain-word findings per form field (``GENERAL``: not tied to a field), without repeats."""
    out: dict[str, list[Shown]] = {}
    for finding in findings:
        shown = explain(finding, dataset_iri)
        items = out.setdefault(shown.field, [])
        if shown not in items:
            items.append(shown)
    for items in out.values():
        items.sort(key=lambda s: s.severity != "violation")
    return out
