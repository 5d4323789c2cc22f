"""The dataset's DCAT-AP graph and its SHACL validation against the shipped official shapes."""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import (
    Graph,
    URIRef,
)
from rdflib.namespace import DCAT, DCTERMS

from dagr.core.actors import SYSTEM
from dagr.opendata import dcat, selectors, services, validation
from tests.factories import make_dataset

from .conftest import complete_values

pytestmark = pytest.mark.django_db


EXAMPLE = Path(__file__).parent / "data" / "dataset-conforming.ttl"


def test_ranges_ttl_as_published_does_not_load_in_pyshacl() -> None:
    shapes = Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        shapes.parse(validation.SHAPES_DIR / name)
    with pytest.raises(Exception, match="not a well-formed SHACL PropertyShape"):
        pyshacl.validate(Graph().parse(EXAMPLE), shacl_graph=shapes)


def test_ranges_ttl_loads_after_dropping_exactly_its_five_dangling_links() -> None:
    shapes, dropped = validation.load_shapes(("dcat-ap-SHACL.ttl", "ranges.ttl"))
    assert dropped == 5
    conforms, _results, _text = pyshacl.validate(Graph().parse(EXAMPLE), shacl_graph=shapes)
    assert conforms


def test_complete_metadata_conforms_with_no_violation() -> None:
    ds = make_dataset(description_lv="Apraksts", description_en="Description")
    services.metadata_update(actor=SYSTEM, dataset=ds, **complete_values())
    report = selectors.dataset_validation(ds)
    assert report.violations == [], report.violations
    assert selectors.dataset_publishable(ds)


def test_missing_description_is_a_violation_and_blocks_publishing() -> None:
    ds = make_dataset(description_lv="", description_en="")
    services.metadata_update(actor=SYSTEM, dataset=ds, **complete_values())
    report = selectors.dataset_validation(ds)
    paths = {f.path for f in report.violations}
    assert str(DCTERMS.description) in paths
    assert not selectors.dataset_publishable(ds)


def test_graph_has_stable_iri_language_tags_and_distributions() -> None:
    ds = make_dataset(code="iedzivotaji", description_lv="Apraksts", description_en="Descr")
    services.metadata_update(actor=SYSTEM, dataset=ds, **complete_values())
    g = selectors.dataset_graph(ds)
    iri = URIRef(selectors.dataset_iri(ds))
    assert str(iri).endswith("/catalog/iedzivotaji/#dataset")
    langs = {t.language for t in g.objects(iri, DCTERMS.title)}
    assert langs == {"lv", "en"}
    assert list(g.objects(iri, DCAT.distribution))
    assert dcat.graph_hash(g) == dcat.graph_hash(selectors.dataset_graph(ds))
