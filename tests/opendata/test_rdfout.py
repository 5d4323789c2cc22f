"""The catalogue's own Turtle, JSON-LD and RDF/XML writers (``rdfout``): each page, parsed back
by rdflib, is exactly the graph its triples make (blank nodes included), whatever the texts
hold; and a fresh page is served to every request (no cache to go stale)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rdflib import Graph
from rdflib.compare import isomorphic

from dagr.core.actors import SYSTEM
from dagr.opendata import dcat, rdfout, selectors, services
from dagr.opendata.dcat import Blank, Iri, Lit
from tests.factories import make_dataset, make_institution

from .conftest import complete_values

pytestmark = pytest.mark.django_db

AWKWARD = 'quotes " and \\ backslash, <tags> & ampersands\nnew line\r\ttab — ā ž 𝄞'


def _parse(body: bytes, fmt: str) -> Graph:
    return Graph().parse(data=body, format=rdfout.RDF_FORMATS[fmt][0])


@pytest.mark.parametrize("fmt", sorted(rdfout.RDF_FORMATS))
def test_awkward_texts_iris_and_blank_nodes_survive_each_format(fmt: str) -> None:
    g = dcat.Triples()
    s, b = Iri("https://example.lv/catalog/kopa/#dataset"), Blank("kopa.9-temporal")
    g.add((s, dcat.RDF.type, dcat.DCAT.Dataset))
    g.add((s, dcat.DCTERMS.title, Lit(AWKWARD, "lv")))
    g.add((s, dcat.DCTERMS.identifier, Lit(AWKWARD)))
    g.add((s, dcat.DCTERMS.issued, Lit("2020-01-02", datatype=dcat.XSD.date)))
    g.add((s, dcat.DCTERMS.temporal, b))
    g.add((b, dcat.DCAT.startDate, Lit("2020-01-01", datatype=dcat.XSD.date)))
    g.add((s, dcat.FOAF.page, Iri("https://example.lv/a?b=1&c=%20d#e")))
    g.add((s, dcat.DCTERMS.conformsTo, Iri(f"{dcat.DCTERMS.base}1.not-a-name")))
    assert isomorphic(_parse(rdfout.serialize(g, fmt), fmt), dcat.to_graph(g))


def _publish(code: str, provider: Any, **over: Any) -> Any:
    ds = make_dataset(
        provider=provider,
        code=code,
        status="production",
        title_lv=f"Kopa “{code}” <{code}>",
        description_lv=AWKWARD,
        description_en="Description",
    )
    services.metadata_update(
        actor=SYSTEM, dataset=ds, **complete_values(provenance_lv="No reģistra", **over)
    )
    services.metadata_publish(actor=SYSTEM, dataset=ds)
    return ds


def test_each_format_of_the_page_is_the_graph_of_its_triples() -> None:
    provider = make_institution()
    for n in range(3):
        _publish(f"kopa-{n}", provider, keywords_en=[f"k{n}", 'with "quotes"'])
    client = Client()
    for fmt in rdfout.RDF_FORMATS:
        response = client.get(f"/catalog.{fmt}?modified_since=2000-01-01")
        assert response.status_code == 200
        expected = selectors.catalog_triples(
            page=1,
            per_page=100,
            modified_since=None,
            base=f"http://testserver/catalog.{fmt}",
            query={"modified_since": "2000-01-01"},
        )
        assert len(expected) > 200  # three datasets with their distributions
        assert isomorphic(_parse(response.content, fmt), dcat.to_graph(expected)), fmt


def test_a_change_shows_in_the_next_page_at_once() -> None:
    ds = _publish("kopa", make_institution())
    client = Client()
    assert b"Pirmais" not in client.get("/catalog.ttl").content
    services.metadata_update(actor=SYSTEM, dataset=ds, keywords_lv=["Pirmais"])
    assert "Pirmais" in client.get("/catalog.ttl").content.decode()
