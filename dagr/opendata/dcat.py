"""The DCAT-AP 3.0.1 graph of a dataset and of the catalogue, made from the catalogue's dataset,
its open data metadata and what DAGR serves (the distributions).

IRIs are stable: everything hangs off the dataset's public page, ``<site>/catalog/<code>/``
(``#dataset``, ``#contact``, ``#distribution-<kind>``), which answers RDF to an RDF ``Accept``
header — so each IRI dereferences. The dataset code never changes, so neither does the IRI
(a CKAN harvester keys packages on it). Blank nodes get fixed labels, so the same description
always gives the same triples and the same hash (``graph_hash``): the validation cache keys on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

from . import vocabularies as v

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
# DCAT 3 terms rdflib's closed DCAT namespace (DCAT 2) does not have.
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")

PREFIXES: dict[str, Any] = {  # rdflib's closed namespaces are classes, the others Namespace
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "vcard": VCARD,
    "skos": SKOS,
    "adms": ADMS,
    "dcatap": DCATAP,
    "owl": OWL,
    "xsd": XSD,
    "hydra": HYDRA,
    "gsp": GSP,
}


def site() -> str:
    return settings.SITE_URL.rstrip("/")


def operator_name() -> tuple[str, str]:
    """The platform operator's name (lv, en): the catalogue's publisher."""
    default = ("DAGR datu izplatīšanas platforma", "DAGR data distribution platform")
    lv, en = getattr(settings, "DAGR_OPERATOR_NAME", default)
    return str(lv), str(en)


def dataset_page(code: str) -> str:
    return f"{site()}/catalog/{code}/"


def dataset_iri(code: str) -> str:
    return f"{dataset_page(code)}#dataset"


def catalog_iri() -> str:
    return f"{site()}/catalog/#catalog"


def publisher_iri(provider_id: int) -> str:
    return f"{site()}/catalog/?provider={provider_id}#publisher"


@dataclass(frozen=True, slots=True)
class Distribution:
    """One way to get the data, as DAGR serves it."""

    kind: str  # stable key: test-csv, test-xlsx, test-api, api, export-csv
    title_lv: str
    title_en: str
    description_lv: str
    description_en: str
    access_url: str
    download_url: str  # "" for an API or a page
    file_type: str  # code in the file-type list (CSV, XLSX, JSON, HTML)
    licence: str = ""
    access_rights: str = ""


@dataclass(slots=True)
class Description:
    """Everything the graph is made from (plain values: the builder reads no database)."""

    code: str
    provider_id: int
    title_lv: str
    title_en: str
    description_lv: str
    description_en: str
    issued: date
    modified: datetime
    publisher_name_lv: str = ""
    publisher_name_en: str = ""
    publisher_url: str = ""
    contact_name_lv: str = ""
    contact_name_en: str = ""
    contact_email: str = ""
    contact_url: str = ""
    licence: str = ""
    access_rights: str = ""
    themes: list[str] = field(default_factory=list)
    frequency: str = ""
    spatial: list[str] = field(default_factory=list)
    conforms_to: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    keywords_lv: list[str] = field(default_factory=list)
    keywords_en: list[str] = field(default_factory=list)
    temporal_start: date | None = None
    temporal_end: date | None = None
    documentation: str = ""
    version: str = ""
    version_notes_lv: str = ""
    version_notes_en: str = ""
    provenance_lv: str = ""
    provenance_en: str = ""
    rights_lv: str = ""
    rights_en: str = ""
    distribution_status: str = ""
    distributions: list[Distribution] = field(default_factory=list)


def _texts(g: Graph, s: URIRef | BNode, p: URIRef, lv: str, en: str) -> None:
    if lv.strip():
        g.add((s, p, Literal(lv.strip(), lang="lv")))
    if en.strip():
        g.add((s, p, Literal(en.strip(), lang="en")))


def _concept(g: Graph, iri: str) -> URIRef:
    """The concept IRI, with the triples the range and vocabulary shapes look for."""
    node = URIRef(iri)
    found = v.lookup(iri)
    if found is None:
        return node
    vocab, concept = found
    g.add((node, RDF.type, URIRef(vocab.rdf_type)))
    g.add((node, RDF.type, SKOS.Concept))
    g.add((node, SKOS.inScheme, _scheme(g, vocab.scheme)))
    g.add((node, SKOS.prefLabel, Literal(concept.lv, lang="lv")))
    g.add((node, SKOS.prefLabel, Literal(concept.en, lang="en")))
    if vocab is v.LICENCE and iri in v.LICENCE_TYPE:
        licence_type = URIRef(v.LICENCE_TYPE[iri])
        lv, en = v.LICENCE_TYPE_LABELS[v.LICENCE_TYPE[iri]]
        g.add((node, DCTERMS.type, licence_type))
        g.add((licence_type, RDF.type, SKOS.Concept))
        g.add((licence_type, SKOS.inScheme, _scheme(g, v.ADMS_LICENCE_TYPE_SCHEME)))
        g.add((licence_type, SKOS.prefLabel, Literal(lv, lang="lv")))
        g.add((licence_type, SKOS.prefLabel, Literal(en, lang="en")))
    if iri in v.GEOMETRY:
        bbox, centroid = v.GEOMETRY[iri]
        g.add((node, DCAT.bbox, Literal(bbox, datatype=GSP.wktLiteral)))
        g.add((node, DCAT.centroid, Literal(centroid, datatype=GSP.wktLiteral)))
    return node


def _scheme(g: Graph, iri: str) -> URIRef:
    node = URIRef(iri)
    g.add((node, RDF.type, SKOS.ConceptScheme))
    g.add((node, DCTERMS.title, Literal(v.SCHEME_TITLES.get(iri, iri), lang="en")))
    return node


def new_graph() -> Graph:
    """An empty graph (prefixes are bound only for serialising: binding costs more than the
    rest of a dataset's graph)."""
    return Graph()


def bind_prefixes(g: Graph) -> Graph:
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    return g


RDF_FORMATS: dict[str, tuple[str, str]] = {
    # extension → (rdflib format, media type)
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
}


def serialize(g: Graph, fmt: str) -> bytes:
    rdflib_format = RDF_FORMATS[fmt][0]
    kwargs: dict[str, Any] = {"auto_compact": True} if rdflib_format == "json-ld" else {}
    return bind_prefixes(g).serialize(format=rdflib_format, encoding="utf-8", **kwargs)


def add_dataset(g: Graph, d: Description) -> URIRef:
    """Add the dataset ``d`` (with its distributions, agents and concepts) to ``g``."""
    ds = URIRef(dataset_iri(d.code))
    page = dataset_page(d.code)
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(d.code)))
    _texts(g, ds, DCTERMS.title, d.title_lv, d.title_en)
    _texts(g, ds, DCTERMS.description, d.description_lv, d.description_en)
    g.add((ds, DCTERMS.issued, Literal(d.issued.isoformat(), datatype=XSD.date)))
    modified = d.modified.replace(microsecond=0).isoformat()
    g.add((ds, DCTERMS.modified, Literal(modified, datatype=XSD.dateTime)))
    landing = URIRef(page)
    g.add((ds, DCAT.landingPage, landing))
    g.add((landing, RDF.type, FOAF.Document))

    if d.publisher_name_lv or d.publisher_name_en:
        pub = URIRef(publisher_iri(d.provider_id))
        g.add((ds, DCTERMS.publisher, pub))
        g.add((pub, RDF.type, FOAF.Agent))
        g.add((pub, RDF.type, FOAF.Organization))
        _texts(g, pub, FOAF.name, d.publisher_name_lv, d.publisher_name_en)
        publisher_type = URIRef(v.PUBLISHER_TYPE)
        g.add((pub, DCTERMS.type, publisher_type))
        g.add((publisher_type, RDF.type, SKOS.Concept))
        g.add((publisher_type, SKOS.inScheme, _scheme(g, v.PUBLISHER_TYPE_SCHEME)))
        g.add((publisher_type, SKOS.prefLabel, Literal("valsts iestāde", lang="lv")))
        g.add((publisher_type, SKOS.prefLabel, Literal("National authority", lang="en")))
        if d.publisher_url:
            g.add((pub, FOAF.homepage, URIRef(d.publisher_url)))
            g.add((URIRef(d.publisher_url), RDF.type, FOAF.Document))
    if d.contact_email or d.contact_url:
        contact = URIRef(f"{page}#contact")
        g.add((ds, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, RDF.type, VCARD.Organization))
        _texts(g, contact, VCARD.fn, d.contact_name_lv, d.contact_name_en)
        if d.contact_email:
            g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{d.contact_email}")))
        if d.contact_url:
            g.add((contact, VCARD.hasURL, URIRef(d.contact_url)))
    for lang, words in (("lv", d.keywords_lv), ("en", d.keywords_en)):
        for word in words:
            g.add((ds, DCAT.keyword, Literal(word, lang=lang)))
    for iri in d.themes:
        g.add((ds, DCAT.theme, _concept(g, iri)))
    if d.frequency:
        g.add((ds, DCTERMS.accrualPeriodicity, _concept(g, d.frequency)))
    for iri in d.spatial:
        g.add((ds, DCTERMS.spatial, _concept(g, iri)))
    for iri in d.languages:
        g.add((ds, DCTERMS.language, _concept(g, iri)))
    if d.access_rights:
        g.add((ds, DCTERMS.accessRights, _concept(g, d.access_rights)))
    for url in d.conforms_to:
        std = URIRef(url)
        g.add((ds, DCTERMS.conformsTo, std))
        g.add((std, RDF.type, DCTERMS.Standard))
    if d.temporal_start or d.temporal_end:
        period = BNode(f"{d.code}-temporal")
        g.add((ds, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if d.temporal_start:
            g.add(
                (period, DCAT.startDate, Literal(d.temporal_start.isoformat(), datatype=XSD.date))
            )
        if d.temporal_end:
            g.add((period, DCAT.endDate, Literal(d.temporal_end.isoformat(), datatype=XSD.date)))
    if d.documentation:
        g.add((ds, FOAF.page, URIRef(d.documentation)))
        g.add((URIRef(d.documentation), RDF.type, FOAF.Document))
    if d.version:
        g.add((ds, DCAT_VERSION, Literal(d.version)))
    _texts(g, ds, ADMS.versionNotes, d.version_notes_lv, d.version_notes_en)
    if d.provenance_lv or d.provenance_en:
        prov = BNode(f"{d.code}-provenance")
        g.add((ds, DCTERMS.provenance, prov))
        g.add((prov, RDF.type, DCTERMS.ProvenanceStatement))
        _texts(g, prov, RDFS.label, d.provenance_lv, d.provenance_en)
    rights = None
    if d.rights_lv or d.rights_en:
        rights = BNode(f"{d.code}-rights")
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        _texts(g, rights, RDFS.label, d.rights_lv, d.rights_en)
    for dist in d.distributions:
        _add_distribution(g, ds, d, dist, rights)
    return ds


def _add_distribution(
    g: Graph, ds: URIRef, d: Description, dist: Distribution, rights: BNode | None
) -> None:
    node = URIRef(f"{dataset_page(d.code)}#distribution-{dist.kind}")
    g.add((ds, DCAT.distribution, node))
    g.add((node, RDF.type, DCAT.Distribution))
    _texts(g, node, DCTERMS.title, dist.title_lv, dist.title_en)
    _texts(g, node, DCTERMS.description, dist.description_lv, dist.description_en)
    g.add((node, DCAT.accessURL, URIRef(dist.access_url)))
    if dist.download_url:
        g.add((node, DCAT.downloadURL, URIRef(dist.download_url)))
    file_type = f"{v.EU}file-type/{dist.file_type}"
    g.add((node, DCTERMS.format, _concept(g, file_type)))
    if dist.file_type in v.MEDIA_TYPES:
        media = URIRef(v.MEDIA_TYPES[dist.file_type])
        g.add((node, DCAT.mediaType, media))
        g.add((media, RDF.type, DCTERMS.MediaType))
    licence = dist.licence or d.licence
    if licence:
        g.add((node, DCTERMS.license, _concept(g, licence)))
    if d.distribution_status:
        g.add((node, ADMS.status, _concept(g, d.distribution_status)))
    g.add((node, DCATAP.availability, _concept(g, f"{v.EU}planned-availability/STABLE")))
    if rights is not None:
        g.add((node, DCTERMS.rights, rights))
    g.add((node, DCTERMS.issued, Literal(d.issued.isoformat(), datatype=XSD.date)))
    modified = d.modified.replace(microsecond=0).isoformat()
    g.add((node, DCTERMS.modified, Literal(modified, datatype=XSD.dateTime)))


def dataset_graph(d: Description) -> Graph:
    g = new_graph()
    add_dataset(g, d)
    return g


# Bump when the graph builder changes what it makes of a description (invalidates the caches).
BUILDER_VERSION = "1"


def description_hash(d: Description) -> str:
    """A hash of everything the dataset's graph is made from (the graph is a pure function of
    the description, the site's address and the builder): the validation cache's key, cheap
    enough to skip an unchanged dataset without building its graph."""
    text = f"{BUILDER_VERSION}|{site()}|{d!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def graph_hash(g: Graph) -> str:
    """A hash of the graph's triples, independent of their order (blank nodes have fixed labels)."""
    lines = sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in g)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def add_catalog(
    g: Graph,
    *,
    dataset_iris: Iterable[str],
    title_lv: str,
    title_en: str,
    description_lv: str,
    description_en: str,
    modified: datetime | None,
) -> URIRef:
    """The catalogue node (publisher: the platform's operator, from settings)."""
    cat = URIRef(catalog_iri())
    g.add((cat, RDF.type, DCAT.Catalog))
    _texts(g, cat, DCTERMS.title, title_lv, title_en)
    _texts(g, cat, DCTERMS.description, description_lv, description_en)
    operator = URIRef(f"{site()}/#operator")
    g.add((cat, DCTERMS.publisher, operator))
    g.add((operator, RDF.type, FOAF.Agent))
    g.add((operator, RDF.type, FOAF.Organization))
    _texts(g, operator, FOAF.name, *operator_name())
    home = URIRef(f"{site()}/")
    g.add((cat, FOAF.homepage, home))
    g.add((home, RDF.type, FOAF.Document))
    g.add((cat, DCAT.themeTaxonomy, _scheme(g, v.DATA_THEME.scheme)))
    for lang in ("LAV", "ENG"):
        g.add((cat, DCTERMS.language, _concept(g, f"{v.EU}language/{lang}")))
    g.add((cat, DCTERMS.spatial, _concept(g, f"{v.EU}country/LVA")))
    if modified is not None:
        g.add(
            (
                cat,
                DCTERMS.modified,
                Literal(modified.replace(microsecond=0).isoformat(), datatype=XSD.dateTime),
            )
        )
    for iri in dataset_iris:
        g.add((cat, DCAT.dataset, URIRef(iri)))
    return cat


def add_paging(
    g: Graph, *, base: str, page: int, per_page: int, total: int, query: dict[str, str]
) -> None:
    """Hydra paging of the catalogue: the current page as a ``hydra:PartialCollectionView``
    (with ``first``/``last``/``next``/``previous``), and the same in the older
    ``hydra:PagedCollection`` terms ckanext-dcat's harvester reads (``firstPage`` …)."""
    last = max(1, -(-total // per_page))

    def url(n: int) -> URIRef:
        params = "&".join(f"{k}={quote(v_, safe='')}" for k, v_ in query.items())
        return URIRef(f"{base}?{params + '&' if params else ''}page={n}")

    node = url(page)
    g.add((node, RDF.type, HYDRA.PartialCollectionView))
    g.add((node, RDF.type, HYDRA.PagedCollection))
    g.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    g.add((node, HYDRA.itemsPerPage, Literal(per_page, datatype=XSD.integer)))
    for new, old, n in (
        (HYDRA.first, HYDRA.firstPage, 1),
        (HYDRA.last, HYDRA.lastPage, last),
        (HYDRA.next, HYDRA.nextPage, page + 1 if page < last else None),
        (HYDRA.previous, HYDRA.previousPage, page - 1 if page > 1 else None),
    ):
        if n is not None:
            g.add((node, new, url(n)))
            g.add((node, old, Literal(str(url(n)))))
