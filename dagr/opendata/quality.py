"""A quality score following data.europa.eu's Metadata Quality Assessment (MQA) methodology:
five dimensions, 405 points — findability 100, accessibility 100, interoperability 110,
reusability 75, contextuality 20 — with the same indicators and weights
(https://data.europa.eu/mqa/methodology).

DAGR's reading where the MQA works differently:
- The MQA checks with HTTP requests that access and download URLs answer 2xx/3xx. DAGR's
  distributions are its own pages and downloads, which it serves by construction, so a URL on
  this site counts as reachable and no request is made (a foreign URL is not counted).
- A distribution indicator (format, media type, licence, …) scores when at least one distribution
  of the dataset meets it — the dataset's score, not a catalogue-wide percentage.
- "DCAT-AP compliance" is the SHACL validation of ``validation.py`` (no violation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS

from . import dcat
from . import vocabularies as v
from .validation import Report

# MQA lists (file-type codes): non-proprietary and machine-readable formats.
NON_PROPRIETARY = {"CSV", "JSON", "JSON_LD", "RDF_TURTLE", "RDF_XML", "XML", "HTML", "PDF", "ZIP"}
MACHINE_READABLE = {"CSV", "JSON", "JSON_LD", "RDF_TURTLE", "RDF_XML", "XML", "XLSX"}


@dataclass(frozen=True, slots=True)
class Indicator:
    dimension: str
    label: Promise
    points: int
    earned: bool
    hint: Promise | None = None  # what to add to earn it (None: DAGR cannot provide it)
    field: str = ""  # the form field it concerns


@dataclass(slots=True)
class Score:
    indicators: list[Indicator] = field(default_factory=list)

    MAXIMUM = 405

    @property
    def total(self) -> int:
        return sum(i.points for i in self.indicators if i.earned)

    @property
    def dimensions(self) -> list[tuple[Promise, int, int]]:
        out: dict[str, list[int]] = {}
        for i in self.indicators:
            earned_max = out.setdefault(i.dimension, [0, 0])
            earned_max[0] += i.points if i.earned else 0
            earned_max[1] += i.points
        return [(DIMENSIONS[k], e, m) for k, (e, m) in out.items()]

    @property
    def rating(self) -> Promise:
        """MQA's bands: excellent 351–405, good 221–350, sufficient 121–220, bad 0–120."""
        if self.total > 350:
            return _("excellent")
        if self.total > 220:
            return _("good")
        if self.total > 120:
            return _("sufficient")
        return _("bad")

    @property
    def to_raise(self) -> list[Indicator]:
        """Missing indicators the publisher can add, the most valuable first."""
        return sorted(
            (i for i in self.indicators if not i.earned and i.hint is not None),
            key=lambda i: -i.points,
        )


DIMENSIONS: dict[str, Promise] = {
    "findability": _("Findability"),
    "accessibility": _("Accessibility"),
    "interoperability": _("Interoperability"),
    "reusability": _("Reusability"),
    "contextuality": _("Contextuality"),
}


def _own(url: object) -> bool:
    return isinstance(url, URIRef) and str(url).startswith(dcat.site() + "/")


def score(graph: Graph, dataset_iri: str, *, report: Report) -> Score:
    ds = URIRef(dataset_iri)
    dists = list(graph.objects(ds, DCAT.distribution))

    def has(p: URIRef) -> bool:
        return graph.value(ds, p) is not None

    def any_dist(p: URIRef) -> bool:
        return any(graph.value(d, p) is not None for d in dists)

    formats = {
        str(f).rsplit("/", 1)[-1]
        for d in dists
        for f in graph.objects(d, DCTERMS.format)
        if str(f).startswith(v.FILE_TYPE.scheme + "/")
    }
    licences = [graph.value(d, DCTERMS.license) for d in dists]
    access = graph.value(ds, DCTERMS.accessRights)
    i = Indicator
    return Score(
        [
            i("findability", _("Keywords"), 30, has(DCAT.keyword),
              _("Add keywords in Latvian and English."), "keywords_lv"),
            i("findability", _("Themes"), 30, has(DCAT.theme),
              _("Choose at least one data theme."), "themes"),
            i("findability", _("Spatial coverage"), 20, has(DCTERMS.spatial),
              _("Choose the spatial coverage."), "spatial"),
            i("findability", _("Temporal coverage"), 20, has(DCTERMS.temporal),
              _("Give the period the data covers."), "temporal_start"),
            i("accessibility", _("Access URL reachable"), 50,
              any(_own(graph.value(d, DCAT.accessURL)) for d in dists)),
            i("accessibility", _("Download URL"), 20, any_dist(DCAT.downloadURL),
              _("Publish anonymised test data or make the data public: both give downloads."),
              "access_rights"),
            i("accessibility", _("Download URL reachable"), 30,
              any(_own(graph.value(d, DCAT.downloadURL)) for d in dists)),
            i("interoperability", _("Format"), 20, bool(formats)),
            i("interoperability", _("Media type"), 10, any_dist(DCAT.mediaType)),
            i("interoperability", _("Format from the vocabulary"), 10, bool(formats)),
            i("interoperability", _("Non-proprietary format"), 20,
              bool(formats & NON_PROPRIETARY)),
            i("interoperability", _("Machine-readable format"), 20,
              bool(formats & MACHINE_READABLE)),
            i("interoperability", _("DCAT-AP compliance"), 30, report.conforms,
              _("Correct the errors the validation shows."), ""),
            i("reusability", _("Licence"), 20, any(lic is not None for lic in licences),
              _("Choose a licence."), "licence"),
            i("reusability", _("Licence from the vocabulary"), 10,
              any(lic is not None and v.LICENCE.get(str(lic)) for lic in licences),
              _("Choose a licence."), "licence"),
            i("reusability", _("Access rights"), 10, access is not None,
              _("Choose the access rights."), "access_rights"),
            i("reusability", _("Access rights from the vocabulary"), 5,
              access is not None and v.ACCESS_RIGHT.get(str(access)) is not None,
              _("Choose the access rights."), "access_rights"),
            i("reusability", _("Contact point"), 20, has(DCAT.contactPoint),
              _("Give a contact e-mail or web address."), "contact_email"),
            i("reusability", _("Publisher"), 10, has(DCTERMS.publisher),
              _("Name the publisher."), "publisher_name_lv"),
            i("contextuality", _("Rights statement"), 5, any_dist(DCTERMS.rights),
              _("Add a rights statement."), "rights_lv"),
            i("contextuality", _("File size"), 5, any_dist(DCAT.byteSize)),
            i("contextuality", _("Date of issue"), 5, any_dist(DCTERMS.issued)),
            i("contextuality", _("Modification date"), 5, any_dist(DCTERMS.modified)),
        ]
    )  # fmt: skip
