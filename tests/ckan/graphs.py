"""DCAT-AP graphs built in the tests (the shape ``dagr.opendata`` makes: a dcat:Dataset with
bilingual literals and distributions keyed by IRI)."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
EU = "http://publications.europa.eu/resource/authority/"
BASE = "https://dagr.example.lv/catalog/"


def dataset_graph(
    code: str = "companies",
    *,
    title_en: str = "Companies",
    distributions: tuple[str, ...] = ("csv", "api"),
    keywords_lv: tuple[str, ...] = ("uzņēmumi", "reģistrs"),
    licence: str = EU + "licence/CC_BY_4_0",
) -> tuple[Graph, str]:
    g = Graph()
    iri = f"{BASE}{code}/"
    s = URIRef(iri)
    g.add((s, RDF.type, DCAT.Dataset))
    g.add((s, DCTERMS.title, Literal("Uzņēmumi", lang="lv")))
    if title_en:
        g.add((s, DCTERMS.title, Literal(title_en, lang="en")))
    g.add((s, DCTERMS.description, Literal("Uzņēmumu reģistra dati.", lang="lv")))
    g.add((s, DCTERMS.description, Literal("Data of the company register.", lang="en")))
    for word in keywords_lv:
        g.add((s, DCAT.keyword, Literal(word, lang="lv")))
    g.add((s, DCAT.keyword, Literal("companies", lang="en")))
    g.add((s, DCTERMS.identifier, Literal(code)))
    g.add((s, DCAT.theme, URIRef(EU + "data-theme/ECON")))
    g.add((s, DCAT.theme, URIRef(EU + "data-theme/GOVE")))
    g.add((s, DCTERMS.language, URIRef(EU + "language/LAV")))
    g.add((s, DCTERMS.accrualPeriodicity, URIRef(EU + "frequency/DAILY")))
    g.add((s, DCTERMS.accessRights, URIRef(EU + "access-right/PUBLIC")))
    g.add((s, DCTERMS.issued, Literal("2026-01-15", datatype=XSD.date)))
    g.add((s, DCAT.landingPage, URIRef(iri)))
    publisher = URIRef("https://dagr.example.lv/institutions/1")
    g.add((s, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal("Uzņēmumu reģistrs", lang="lv")))
    g.add((publisher, FOAF.name, Literal("Register of Enterprises", lang="en")))
    g.add((publisher, DCTERMS.type, URIRef("http://purl.org/adms/publishertype/NationalAuthority")))
    contact = BNode()
    g.add((s, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal("Datu nodaļa", lang="lv")))
    g.add((contact, VCARD.hasEmail, URIRef("mailto:dati@ur.example.lv")))
    for kind in distributions:
        d = URIRef(f"{iri}distributions/{kind}")
        g.add((s, DCAT.distribution, d))
        g.add((d, RDF.type, DCAT.Distribution))
        g.add((d, DCTERMS.title, Literal(f"Lejupielāde {kind}", lang="lv")))
        g.add((d, DCTERMS.title, Literal(f"Download {kind}", lang="en")))
        g.add((d, DCAT.accessURL, URIRef(f"https://dagr.example.lv/test-data/{code}/{kind}")))
        if kind == "csv":
            g.add((d, DCAT.downloadURL, URIRef(f"https://dagr.example.lv/test-data/{code}.csv")))
            g.add((d, DCTERMS["format"], URIRef(EU + "file-type/CSV")))
            g.add(
                (d, DCAT.mediaType, URIRef("http://www.iana.org/assignments/media-types/text/csv"))
            )
        g.add((d, DCTERMS.license, URIRef(licence)))
        g.add((d, ADMS.status, URIRef("http://purl.org/adms/status/Completed")))
    return g, iri
