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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import NamedTuple
from urllib.parse import quote

from django.conf import settings
from rdflib import BNode, Graph, Literal, URIRef

from . import vocabularies as v


class Iri(str):
    """An IRI (the builder's terms are plain strings and tuples: no rdflib on the hot path)."""

    __slots__ = ()


class Blank(str):
    """A blank node, by its fixed label."""

    __slots__ = ()


class Lit(NamedTuple):
    """A literal: its lexical form, and a language tag or a datatype IRI (or neither)."""

    value: str
    lang: str = ""
    datatype: str = ""


Term = Iri | Blank | Lit
Triple = tuple[Iri | Blank, Iri, Term]


class Namespace:
    """``NS.term`` → ``Iri(base + "term")`` (not a str: ``str.title``/``format`` would shadow
    the terms ``dct:title`` and ``dct:format``)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __getattr__(self, name: str) -> Iri:
        if name.startswith("__"):
            raise AttributeError(name)
        term = Iri(self.base + name)
        setattr(self, name, term)
        return term


RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
DCAT_VERSION = DCAT.version

# prefix → namespace IRI, for the serialisations (``rdfout``)
PREFIXES: dict[str, str] = {
    "rdf": RDF.base,
    "rdfs": RDFS.base,
    "dcat": DCAT.base,
    "dct": DCTERMS.base,
    "foaf": FOAF.base,
    "vcard": VCARD.base,
    "skos": SKOS.base,
    "adms": ADMS.base,
    "dcatap": DCATAP.base,
    "owl": OWL.base,
    "xsd": XSD.base,
    "hydra": HYDRA.base,
    "gsp": GSP.base,
}


class Triples:
    """The triples of a graph in the order they were added, each once (what the builder
    writes to; ``to_graph`` makes an rdflib graph of them for validation)."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[Triple, None] = {}

    def add(self, triple: Triple) -> None:
        self._seen[triple] = None

    def extend(self, triples: Iterable[Triple]) -> None:
        self._seen.update(dict.fromkeys(triples))

    def __iter__(self) -> Iterator[Triple]:
        return iter(self._seen)

    def __len__(self) -> int:
        return len(self._seen)


def rdflib_term(t: Term) -> URIRef | BNode | Literal:
    if isinstance(t, Lit):
        datatype = URIRef(t.datatype) if t.datatype else None
        return Literal(t.value, lang=t.lang or None, datatype=datatype)
    if isinstance(t, Blank):
        return BNode(t)
    return URIRef(t)


def to_graph(triples: Iterable[Triple]) -> Graph:
    g = Graph()
    g.addN((rdflib_term(s), rdflib_term(p), rdflib_term(o), g) for s, p, o in triples)
    return g


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


def _texts(g: Triples, s: Iri | Blank, p: Iri, lv: str, en: str) -> None:
    if lv.strip():
        g.add((s, p, Lit(lv.strip(), "lv")))
    if en.strip():
        g.add((s, p, Lit(en.strip(), "en")))


def _date(value: date) -> Lit:
    return Lit(value.isoformat(), datatype=XSD.date)


def _datetime(value: datetime) -> Lit:
    return Lit(value.replace(microsecond=0).isoformat(), datatype=XSD.dateTime)


@cache
def concept_triples(iri: str) -> tuple[Triple, ...]:
    """The triples the range and vocabulary shapes look for about a concept of the shipped
    vocabularies (its types, scheme and labels; none for an IRI outside them). A pure function
    of the IRI: computed once per process."""
    node = Iri(iri)
    found = v.lookup(iri)
    if found is None:
        return ()
    vocab, concept = found
    out: list[Triple] = [
        (node, RDF.type, Iri(vocab.rdf_type)),
        (node, RDF.type, SKOS.Concept),
        (node, SKOS.inScheme, Iri(vocab.scheme)),
        *scheme_triples(vocab.scheme),
        (node, SKOS.prefLabel, Lit(concept.lv, "lv")),
        (node, SKOS.prefLabel, Lit(concept.en, "en")),
    ]
    if vocab is v.LICENCE and iri in v.LICENCE_TYPE:
        licence_type = Iri(v.LICENCE_TYPE[iri])
        lv, en = v.LICENCE_TYPE_LABELS[v.LICENCE_TYPE[iri]]
        out += [
            (node, DCTERMS.type, licence_type),
            (licence_type, RDF.type, SKOS.Concept),
            (licence_type, SKOS.inScheme, Iri(v.ADMS_LICENCE_TYPE_SCHEME)),
            *scheme_triples(v.ADMS_LICENCE_TYPE_SCHEME),
            (licence_type, SKOS.prefLabel, Lit(lv, "lv")),
            (licence_type, SKOS.prefLabel, Lit(en, "en")),
        ]
    if iri in v.GEOMETRY:
        bbox, centroid = v.GEOMETRY[iri]
        out += [
            (node, DCAT.bbox, Lit(bbox, datatype=GSP.wktLiteral)),
            (node, DCAT.centroid, Lit(centroid, datatype=GSP.wktLiteral)),
        ]
    return tuple(out)


@cache
def scheme_triples(iri: str) -> tuple[Triple, ...]:
    node = Iri(iri)
    return (
        (node, RDF.type, SKOS.ConceptScheme),
        (node, DCTERMS.title, Lit(v.SCHEME_TITLES.get(iri, iri), "en")),
    )


def _concept(g: Triples, iri: str) -> Iri:
    """The concept IRI, with the triples the range and vocabulary shapes look for."""
    g.extend(concept_triples(iri))
    return Iri(iri)


def add_dataset(g: Triples, d: Description) -> Iri:
    """Add the dataset ``d`` (with its distributions, agents and concepts) to ``g``."""
    ds = Iri(dataset_iri(d.code))
    page = dataset_page(d.code)
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Lit(d.code)))
    _texts(g, ds, DCTERMS.title, d.title_lv, d.title_en)
    _texts(g, ds, DCTERMS.description, d.description_lv, d.description_en)
    g.add((ds, DCTERMS.issued, _date(d.issued)))
    g.add((ds, DCTERMS.modified, _datetime(d.modified)))
    landing = Iri(page)
    g.add((ds, DCAT.landingPage, landing))
    g.add((landing, RDF.type, FOAF.Document))

    if d.publisher_name_lv or d.publisher_name_en:
        pub = Iri(publisher_iri(d.provider_id))
        g.add((ds, DCTERMS.publisher, pub))
        g.add((pub, RDF.type, FOAF.Agent))
        g.add((pub, RDF.type, FOAF.Organization))
        _texts(g, pub, FOAF.name, d.publisher_name_lv, d.publisher_name_en)
        publisher_type = Iri(v.PUBLISHER_TYPE)
        g.add((pub, DCTERMS.type, publisher_type))
        g.add((publisher_type, RDF.type, SKOS.Concept))
        g.add((publisher_type, SKOS.inScheme, Iri(v.PUBLISHER_TYPE_SCHEME)))
        g.extend(scheme_triples(v.PUBLISHER_TYPE_SCHEME))
        g.add((publisher_type, SKOS.prefLabel, Lit("valsts iestāde", "lv")))
        g.add((publisher_type, SKOS.prefLabel, Lit("National authority", "en")))
        if d.publisher_url:
            g.add((pub, FOAF.homepage, Iri(d.publisher_url)))
            g.add((Iri(d.publisher_url), RDF.type, FOAF.Document))
    if d.contact_email or d.contact_url:
        contact = Iri(f"{page}#contact")
        g.add((ds, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, RDF.type, VCARD.Organization))
        _texts(g, contact, VCARD.fn, d.contact_name_lv, d.contact_name_en)
        if d.contact_email:
            g.add((contact, VCARD.hasEmail, Iri(f"mailto:{d.contact_email}")))
        if d.contact_url:
            g.add((contact, VCARD.hasURL, Iri(d.contact_url)))
    for lang, words in (("lv", d.keywords_lv), ("en", d.keywords_en)):
        for word in words:
            g.add((ds, DCAT.keyword, Lit(word, lang)))
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
        std = Iri(url)
        g.add((ds, DCTERMS.conformsTo, std))
        g.add((std, RDF.type, DCTERMS.Standard))
    if d.temporal_start or d.temporal_end:
        period = Blank(f"{d.code}-temporal")
        g.add((ds, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if d.temporal_start:
            g.add((period, DCAT.startDate, _date(d.temporal_start)))
        if d.temporal_end:
            g.add((period, DCAT.endDate, _date(d.temporal_end)))
    if d.documentation:
        g.add((ds, FOAF.page, Iri(d.documentation)))
        g.add((Iri(d.documentation), RDF.type, FOAF.Document))
    if d.version:
        g.add((ds, DCAT_VERSION, Lit(d.version)))
    _texts(g, ds, ADMS.versionNotes, d.version_notes_lv, d.version_notes_en)
    if d.provenance_lv or d.provenance_en:
        prov = Blank(f"{d.code}-provenance")
        g.add((ds, DCTERMS.provenance, prov))
        g.add((prov, RDF.type, DCTERMS.ProvenanceStatement))
        _texts(g, prov, RDFS.label, d.provenance_lv, d.provenance_en)
    rights = None
    if d.rights_lv or d.rights_en:
        rights = Blank(f"{d.code}-rights")
        g.add((rights, RDF.type, DCTERMS.RightsStatement))
        _texts(g, rights, RDFS.label, d.rights_lv, d.rights_en)
    for dist in d.distributions:
        _add_distribution(g, ds, d, dist, rights)
    return ds


def _add_distribution(
    g: Triples, ds: Iri, d: Description, dist: Distribution, rights: Blank | None
) -> None:
    node = Iri(f"{dataset_page(d.code)}#distribution-{dist.kind}")
    g.add((ds, DCAT.distribution, node))
    g.add((node, RDF.type, DCAT.Distribution))
    _texts(g, node, DCTERMS.title, dist.title_lv, dist.title_en)
    _texts(g, node, DCTERMS.description, dist.description_lv, dist.description_en)
    g.add((node, DCAT.accessURL, Iri(dist.access_url)))
    if dist.download_url:
        g.add((node, DCAT.downloadURL, Iri(dist.download_url)))
    file_type = f"{v.EU}file-type/{dist.file_type}"
    g.add((node, DCTERMS.format, _concept(g, file_type)))
    if dist.file_type in v.MEDIA_TYPES:
        media = Iri(v.MEDIA_TYPES[dist.file_type])
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
    g.add((node, DCTERMS.issued, _date(d.issued)))
    g.add((node, DCTERMS.modified, _datetime(d.modified)))


def dataset_triples(d: Description) -> Triples:
    g = Triples()
    add_dataset(g, d)
    return g


def dataset_graph(d: Description) -> Graph:
    """The dataset's graph as an rdflib graph (for pyshacl, the quality score, the CKAN
    mapping)."""
    return to_graph(dataset_triples(d))


# Bump when the graph builder changes what it makes of a description (invalidates the caches).
BUILDER_VERSION = "1"


def description_hash(d: Description) -> str:
    """A hash of everything the dataset's graph is made from (the graph is a pure function of
    the description, the site's address and the builder): the validation cache's key, cheap
    enough to skip an unchanged dataset without building its graph."""
    text = f"{BUILDER_VERSION}|{site()}|{d!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def structure_key(d: Description) -> str:
    """What the graph's *structure* is made from (see ``validation.validate_many``): texts
    reduced to whether they are there, keyword lists to how many distinct words, dates to
    whether given, the dataset's code and provider left out; IRIs (vocabulary values, web
    addresses) kept as they are. Two descriptions with the same key give graphs that differ only
    in literal texts and in the dataset's own code — which the shapes never read."""

    def there(text: str) -> bool:
        return bool(text.strip())

    def words(items: list[str]) -> int:
        return len(set(items))

    parts = (
        BUILDER_VERSION,
        site(),
        there(d.title_lv), there(d.title_en), there(d.description_lv), there(d.description_en),
        there(d.publisher_name_lv), there(d.publisher_name_en), d.publisher_url,
        there(d.contact_name_lv), there(d.contact_name_en), d.contact_email, d.contact_url,
        d.licence, d.access_rights, tuple(d.themes), d.frequency, tuple(d.spatial),
        tuple(d.conforms_to), tuple(d.languages),
        words(d.keywords_lv), words(d.keywords_en),
        d.temporal_start is not None, d.temporal_end is not None,
        d.documentation, there(d.version),
        there(d.version_notes_lv), there(d.version_notes_en),
        there(d.provenance_lv), there(d.provenance_en),
        there(d.rights_lv), there(d.rights_en), d.distribution_status,
        tuple(
            (x.kind, x.file_type, x.licence, x.access_rights, bool(x.download_url),
             there(x.title_lv), there(x.title_en), there(x.description_lv),
             there(x.description_en))
            for x in d.distributions
        ),
    )  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def graph_hash(g: Graph) -> str:
    """A hash of the graph's triples, independent of their order (blank nodes have fixed labels)."""
    lines = sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in g)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def add_catalog(
    g: Triples,
    *,
    dataset_iris: Iterable[str],
    title_lv: str,
    title_en: str,
    description_lv: str,
    description_en: str,
    modified: datetime | None,
) -> Iri:
    """The catalogue node (publisher: the platform's operator, from settings)."""
    cat = Iri(catalog_iri())
    g.add((cat, RDF.type, DCAT.Catalog))
    _texts(g, cat, DCTERMS.title, title_lv, title_en)
    _texts(g, cat, DCTERMS.description, description_lv, description_en)
    operator = Iri(f"{site()}/#operator")
    g.add((cat, DCTERMS.publisher, operator))
    g.add((operator, RDF.type, FOAF.Agent))
    g.add((operator, RDF.type, FOAF.Organization))
    _texts(g, operator, FOAF.name, *operator_name())
    home = Iri(f"{site()}/")
    g.add((cat, FOAF.homepage, home))
    g.add((home, RDF.type, FOAF.Document))
    g.add((cat, DCAT.themeTaxonomy, Iri(v.DATA_THEME.scheme)))
    g.extend(scheme_triples(v.DATA_THEME.scheme))
    for lang in ("LAV", "ENG"):
        g.add((cat, DCTERMS.language, _concept(g, f"{v.EU}language/{lang}")))
    g.add((cat, DCTERMS.spatial, _concept(g, f"{v.EU}country/LVA")))
    if modified is not None:
        g.add((cat, DCTERMS.modified, _datetime(modified)))
    for iri in dataset_iris:
        g.add((cat, DCAT.dataset, Iri(iri)))
    return cat


def add_paging(
    g: Triples, *, base: str, page: int, per_page: int, total: int, query: dict[str, str]
) -> None:
    """Hydra paging of the catalogue: the current page as a ``hydra:PartialCollectionView``
    (with ``first``/``last``/``next``/``previous``), and the same in the older
    ``hydra:PagedCollection`` terms ckanext-dcat's harvester reads (``firstPage`` …)."""
    last = max(1, -(-total // per_page))

    def url(n: int) -> Iri:
        params = "&".join(f"{k}={quote(v_, safe='')}" for k, v_ in query.items())
        return Iri(f"{base}?{params + '&' if params else ''}page={n}")

    node = url(page)
    g.add((node, RDF.type, HYDRA.PartialCollectionView))
    g.add((node, RDF.type, HYDRA.PagedCollection))
    g.add((node, HYDRA.totalItems, Lit(str(total), datatype=XSD.integer)))
    g.add((node, HYDRA.itemsPerPage, Lit(str(per_page), datatype=XSD.integer)))
    for new, old, n in (
        (HYDRA.first, HYDRA.firstPage, 1),
        (HYDRA.last, HYDRA.lastPage, last),
        (HYDRA.next, HYDRA.nextPage, page + 1 if page < last else None),
        (HYDRA.previous, HYDRA.previousPage, page - 1 if page > 1 else None),
    ):
        if n is not None:
            g.add((node, new, url(n)))
            g.add((node, old, Lit(url(n))))
