"""The world of the CKAN sync tests: a provider institution with its portal settings pointing at
the stand-in, a provider representative, a dataset, and its DCAT-AP graph (built here, swapped
into the sync in place of ``dagr.opendata``'s so a test can change the metadata at will)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdflib import Graph

from dagr.accounts.models import Institution, Membership
from dagr.ckan import services
from dagr.ckan.models import Publication
from tests.ckan.conftest import TOKEN
from tests.ckan.graphs import dataset_graph
from tests.factories import make_dataset, make_institution, make_user


@dataclass
class World:
    provider: Institution
    rep: Any
    dataset: Any
    graph: Graph
    iri: str
    publishable: bool = True
    in_catalog: bool = True  # in the open data catalogue (not withdrawn, not retired)

    def set_graph(self, **kwargs: Any) -> None:
        self.graph, self.iri = dataset_graph(self.dataset.code, **kwargs)

    def publication(self) -> Publication:
        return Publication.objects.get(dataset=self.dataset)

    def sync(self) -> str:
        return services.publication_sync(self.publication().pk)


def make_world(ckan: Any, monkeypatch: Any, *, configure: bool = True) -> World:
    provider = make_institution(name="Uzņēmumu reģistrs", kind=Institution.Kind.PROVIDER)
    rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(provider=provider, code="companies", status="production")
    graph, iri = dataset_graph(dataset.code)
    world = World(provider, rep, dataset, graph, iri)
    monkeypatch.setattr(services, "dataset_graph", lambda d: world.graph)
    monkeypatch.setattr(services, "dataset_iri", lambda d: world.iri)
    monkeypatch.setattr(services, "dataset_publishable", lambda d: world.publishable)
    monkeypatch.setattr(services, "dataset_in_open_catalog", lambda d: world.in_catalog)
    if configure:
        services.portal_config_save(
            actor=rep, institution=provider, base_url=ckan.url, organization="ur", token=TOKEN
        )
    return world
