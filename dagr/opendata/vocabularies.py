"""The controlled vocabularies the metadata form offers, shipped with the app (no network).

Source: the EU Vocabularies (Publications Office) named authority lists that DCAT-AP 3.0.1
requires — data-theme, frequency, file-type, language, licence, access-right,
distribution-status, planned-availability, country, continent — and the ADMS licence-type list.
This is a curated SUBSET (what a Latvian national data platform needs), not a copy: the IRIs are
the official concept IRIs (http://publications.europa.eu/resource/authority/<list>/<code>), the
English labels are the lists' English prefLabels, the Latvian labels of data-theme, country and
language are the lists' Latvian prefLabels (as published in the NAL SKOS dumps, e.g. the
data-theme dump mirrored in berlinonline/ckanext-dcatde_berlin ``reference/mdr-nal/``), the
Latvian labels of the other lists were written for DAGR where the lists' wording is terse.
EU Vocabularies content © European Union, reuse under the Commission's reuse policy (CC BY 4.0).

Each concept is also given to the validator as a few triples (``concept_triples``): its type,
its ``skos:inScheme`` and its labels — the SHACL vocabulary shapes check exactly those, and with
no network the validator could not look them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.utils.translation import get_language

EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"


@dataclass(frozen=True, slots=True)
class Concept:
    iri: str
    lv: str
    en: str

    @property
    def label(self) -> str:
        return self.en if (get_language() or "lv").startswith("en") else self.lv


@dataclass(frozen=True, slots=True)
class Vocabulary:
    key: str
    scheme: str  # the ConceptScheme IRI (skos:inScheme)
    rdf_type: str  # the range class DCAT-AP expects for a value of this list
    concepts: tuple[Concept, ...]

    def get(self, iri: str) -> Concept | None:
        return _index(self.key).get(iri)

    def choices(self) -> list[tuple[str, str]]:
        return [(c.iri, c.label) for c in self.concepts]


DCT = "http://purl.org/dc/terms/"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"


def _list(key: str, rdf_type: str, items: list[tuple[str, str, str]]) -> Vocabulary:
    scheme = f"{EU}{key}"
    return Vocabulary(
        key, scheme, rdf_type, tuple(Concept(f"{scheme}/{code}", lv, en) for code, lv, en in items)
    )


DATA_THEME = _list(
    "data-theme",
    SKOS_CONCEPT,
    [
        ("AGRI", "Lauksaimniecība, zivsaimniecība, mežsaimniecība un pārtika",
         "Agriculture, fisheries, forestry and food"),
        ("ECON", "Ekonomika un finanses", "Economy and finance"),
        ("EDUC", "Izglītība, kultūra un sports", "Education, culture and sport"),
        ("ENER", "Enerģētika", "Energy"),
        ("ENVI", "Vide", "Environment"),
        ("GOVE", "Valdība un sabiedriskais sektors", "Government and public sector"),
        ("HEAL", "Veselība", "Health"),
        ("INTR", "Starptautiski jautājumi", "International issues"),
        ("JUST", "Tieslietas, tiesību sistēma un sabiedriskā drošība",
         "Justice, legal system and public safety"),
        ("REGI", "Reģioni un pilsētas", "Regions and cities"),
        ("SOCI", "Iedzīvotāji un sabiedrība", "Population and society"),
        ("TECH", "Zinātne un tehnoloģija", "Science and technology"),
        ("TRAN", "Transports", "Transport"),
    ],
)  # fmt: skip

FREQUENCY = _list(
    "frequency",
    f"{DCT}Frequency",
    [
        ("CONT", "nepārtraukti", "continuous"),
        ("UPDATE_CONT", "nepārtraukti atjaunināts", "continuously updated"),
        ("HOURLY", "reizi stundā", "hourly"),
        ("DAILY", "katru dienu", "daily"),
        ("WEEKLY", "katru nedēļu", "weekly"),
        ("MONTHLY", "katru mēnesi", "monthly"),
        ("QUARTERLY", "reizi ceturksnī", "quarterly"),
        ("BIANNUAL", "divreiz gadā", "semiannual"),
        ("ANNUAL", "katru gadu", "annual"),
        ("IRREG", "neregulāri", "irregular"),
        ("NEVER", "netiek atjaunināts", "never"),
        ("UNKNOWN", "nav zināms", "unknown"),
    ],
)

FILE_TYPE = _list(
    "file-type",
    f"{DCT}MediaTypeOrExtent",
    [
        ("CSV", "CSV", "CSV"),
        ("XLSX", "XLSX", "XLSX"),
        ("JSON", "JSON", "JSON"),
        ("JSON_LD", "JSON-LD", "JSON-LD"),
        ("RDF_TURTLE", "Turtle", "Turtle"),
        ("RDF_XML", "RDF/XML", "RDF/XML"),
        ("XML", "XML", "XML"),
        ("HTML", "HTML", "HTML"),
        ("PDF", "PDF", "PDF"),
        ("ZIP", "ZIP", "ZIP"),
    ],
)

LANGUAGE = _list(
    "language",
    f"{DCT}LinguisticSystem",
    [
        ("LAV", "latviešu", "Latvian"),
        ("ENG", "angļu", "English"),
        ("RUS", "krievu", "Russian"),
        ("LIT", "lietuviešu", "Lithuanian"),
        ("EST", "igauņu", "Estonian"),
        ("DEU", "vācu", "German"),
        ("LTG", "latgaliešu", "Latgalian"),
    ],
)

LICENCE = _list(
    "licence",
    f"{DCT}LicenseDocument",
    [
        ("CC_BY_4_0", "Creative Commons Attribution 4.0", "Creative Commons Attribution 4.0"),
        ("CC0", "Creative Commons CC0 1.0 (nodošana publiskajā lietošanā)",
         "Creative Commons CC0 1.0 Universal"),
        ("CC_BYSA_4_0", "Creative Commons Attribution-ShareAlike 4.0",
         "Creative Commons Attribution-ShareAlike 4.0"),
        ("ODC_BY", "Open Data Commons Attribution License",
         "Open Data Commons Attribution License"),
        ("ODC_PDDL", "Open Data Commons Public Domain Dedication and License",
         "Open Data Commons Public Domain Dedication and License"),
    ],
)  # fmt: skip

# ADMS licence type of each licence (mdr-vocabularies.shape.ttl asks dct:type of a licence).
LICENCE_TYPE: dict[str, str] = {
    f"{EU}licence/CC_BY_4_0": f"{ADMS_LICENCE_TYPE}Attribution",
    f"{EU}licence/CC0": f"{ADMS_LICENCE_TYPE}PublicDomain",
    f"{EU}licence/CC_BYSA_4_0": f"{ADMS_LICENCE_TYPE}ShareAlike",
    f"{EU}licence/ODC_BY": f"{ADMS_LICENCE_TYPE}Attribution",
    f"{EU}licence/ODC_PDDL": f"{ADMS_LICENCE_TYPE}PublicDomain",
}
ADMS_LICENCE_TYPE_SCHEME = "http://purl.org/adms/licencetype/1.0"
# The ADMS publisher type DAGR's providers have: national public bodies.
PUBLISHER_TYPE = "http://purl.org/adms/publishertype/NationalAuthority"
PUBLISHER_TYPE_SCHEME = "http://purl.org/adms/publishertype/1.0"

LICENCE_TYPE_LABELS: dict[str, tuple[str, str]] = {
    f"{ADMS_LICENCE_TYPE}Attribution": ("atsaucoties uz autoru", "Attribution"),
    f"{ADMS_LICENCE_TYPE}PublicDomain": ("publiskais īpašums", "Public domain"),
    f"{ADMS_LICENCE_TYPE}ShareAlike": ("ar tādu pašu licenci", "Share alike"),
}

# Titles of the concept schemes (the shapes want a dct:title on every skos:ConceptScheme).
SCHEME_TITLES: dict[str, str] = {
    f"{EU}data-theme": "Data theme",
    f"{EU}frequency": "Frequency",
    f"{EU}file-type": "File type",
    f"{EU}language": "Language",
    f"{EU}licence": "Licence",
    f"{EU}access-right": "Access right",
    f"{EU}distribution-status": "Distribution status",
    f"{EU}planned-availability": "Planned availability",
    f"{EU}country": "Country",
    f"{EU}continent": "Continent",
    ADMS_LICENCE_TYPE_SCHEME: "Licence type",
    PUBLISHER_TYPE_SCHEME: "Publisher type",
}

ACCESS_RIGHT = _list(
    "access-right",
    f"{DCT}RightsStatement",
    [
        ("PUBLIC", "publiski pieejami", "public"),
        ("RESTRICTED", "ierobežotas pieejamības", "restricted"),
        ("NON_PUBLIC", "nav publiski pieejami", "non-public"),
    ],
)

DISTRIBUTION_STATUS = _list(
    "distribution-status",
    SKOS_CONCEPT,
    [
        ("COMPLETED", "pabeigts", "completed"),
        ("DEVELOP", "izstrādē", "under development"),
        ("DEPRECATED", "novecojis", "deprecated"),
        ("WITHDRAWN", "atsaukts", "withdrawn"),
    ],
)

AVAILABILITY = _list(
    "planned-availability",
    SKOS_CONCEPT,
    [
        ("STABLE", "stabila", "stable"),
        ("AVAILABLE", "pieejama", "available"),
        ("TEMPORARY", "pagaidu", "temporary"),
        ("EXPERIMENTAL", "eksperimentāla", "experimental"),
    ],
)

COUNTRY = _list(
    "country",
    f"{DCT}Location",
    [
        ("LVA", "Latvija", "Latvia"),
        ("EST", "Igaunija", "Estonia"),
        ("LTU", "Lietuva", "Lithuania"),
    ],
)

CONTINENT = _list("continent", f"{DCT}Location", [("EUROPE", "Eiropa", "Europe")])

VOCABULARIES: dict[str, Vocabulary] = {
    v.key: v
    for v in (
        DATA_THEME,
        FREQUENCY,
        FILE_TYPE,
        LANGUAGE,
        LICENCE,
        ACCESS_RIGHT,
        DISTRIBUTION_STATUS,
        AVAILABILITY,
        COUNTRY,
        CONTINENT,
    )
}

# Bounding box and centroid of each place (WKT, lon lat; rounded): DCAT-AP's recommended
# properties of a dct:Location.
GEOMETRY: dict[str, tuple[str, str]] = {
    f"{EU}country/LVA": (
        "POLYGON((20.9 55.6, 28.3 55.6, 28.3 58.1, 20.9 58.1, 20.9 55.6))",
        "POINT(24.6 56.9)",
    ),
    f"{EU}country/EST": (
        "POLYGON((21.8 57.5, 28.2 57.5, 28.2 59.7, 21.8 59.7, 21.8 57.5))",
        "POINT(25.0 58.6)",
    ),
    f"{EU}country/LTU": (
        "POLYGON((20.9 53.9, 26.8 53.9, 26.8 56.5, 20.9 56.5, 20.9 53.9))",
        "POINT(23.9 55.2)",
    ),
    f"{EU}continent/EUROPE": ("POLYGON((-25 34, 45 34, 45 72, -25 72, -25 34))", "POINT(15 54)"),
}

# The spatial coverage list offers countries and the continent together.
SPATIAL: tuple[Concept, ...] = COUNTRY.concepts + CONTINENT.concepts

# IANA media types of the distributions DAGR makes (dcat:mediaType).
MEDIA_TYPES: dict[str, str] = {
    "CSV": f"{IANA}text/csv",
    "XLSX": f"{IANA}application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "JSON": f"{IANA}application/json",
    "HTML": f"{IANA}text/html",
}


@cache
def _index(key: str) -> dict[str, Concept]:
    return {c.iri: c for c in VOCABULARIES[key].concepts}


@cache
def _all() -> dict[str, tuple[Vocabulary, Concept]]:
    return {c.iri: (v, c) for v in VOCABULARIES.values() for c in v.concepts}


def lookup(iri: str) -> tuple[Vocabulary, Concept] | None:
    """The vocabulary and concept of ``iri``; None for an IRI of no shipped list."""
    return _all().get(iri)


def label(iri: str) -> str:
    """The concept's label in the current language, or the IRI itself if not in any list."""
    found = lookup(iri)
    return found[1].label if found else iri


def valid(key: str, iri: str) -> bool:
    if key == "spatial":
        return any(c.iri == iri for c in SPATIAL)
    return VOCABULARIES[key].get(iri) is not None
