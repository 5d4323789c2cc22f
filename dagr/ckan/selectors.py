"""Reads of the CKAN sync for the pages: an institution's portal settings (never the token) and
a dataset's publication with its log and the portal's field errors in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dagr.accounts.models import Institution
from dagr.catalog.models import Dataset
from dagr.catalog.selectors import dataset_get_visible
from dagr.core.actors import Visitor
from dagr.core.errors import NotFound
from dagr.permissions import rules

from .messages import FieldProblem, field_problems
from .models import PortalConfig, Publication, SyncLogEntry

RECENT_LOG = 50


def institution_for_settings(*, actor: Visitor, pk: int) -> Institution:
    """An institution whose portal settings the actor manages, or ``NotFound``."""
    institution = rules.open_data_portal_institutions(actor).filter(pk=pk).first()
    if institution is None:
        raise NotFound(_("No such institution."), code="institution_not_found")
    return institution


def portal_config(institution: Institution | int) -> PortalConfig | None:
    iid = institution if isinstance(institution, int) else institution.pk
    return PortalConfig.objects.filter(institution_id=iid).first()


def dataset_for_publishing(*, actor: Visitor, code: str) -> Dataset:
    """A dataset the actor may publish to the portal; ``NotFound`` otherwise (also when it is
    visible but not theirs to publish)."""
    dataset = dataset_get_visible(actor=actor, code=code)
    if not rules.can_publish_open_data(actor, dataset):
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    return dataset


@dataclass(frozen=True)
class PublicationView:
    dataset: Dataset
    config: PortalConfig | None
    publication: Publication | None
    problems: list[FieldProblem]
    name_problems: list[str]
    log: list[SyncLogEntry]
    package_url: str


def publication_view(dataset: Dataset) -> PublicationView:
    config = portal_config(dataset.provider_id)
    publication = Publication.objects.filter(dataset=dataset).first()
    problems = field_problems(publication.field_errors) if publication else []
    name_problems = [m for p in problems if p.field == "name" for m in p.messages]
    log = list(publication.log.all()[:RECENT_LOG]) if publication else []
    package_url = ""
    if config is not None and publication is not None and publication.package_id:
        package_url = f"{config.base_url}/dataset/{publication.package_name}"
    return PublicationView(
        dataset=dataset,
        config=config,
        publication=publication,
        problems=[p for p in problems if p.field != "name"],
        name_problems=name_problems,
        log=log,
        package_url=package_url,
    )


@dataclass(frozen=True)
class OverviewRow:
    institution: Institution
    config: PortalConfig | None
    datasets: list[tuple[Dataset, Publication | None]]


def overview(actor: Visitor) -> list[OverviewRow]:
    """Per institution the actor manages: its settings and its datasets with their publication."""
    institutions: QuerySet[Institution] = rules.open_data_portal_institutions(actor).order_by(
        "name"
    )
    ids = list(institutions.values_list("pk", flat=True))
    configs = {c.institution_id: c for c in PortalConfig.objects.filter(institution_id__in=ids)}
    datasets: dict[int, list[Any]] = {}
    publications = {
        p.dataset_id: p for p in Publication.objects.filter(dataset__provider_id__in=ids)
    }
    for dataset in Dataset.objects.filter(provider_id__in=ids).order_by("code"):
        datasets.setdefault(dataset.provider_id, []).append((dataset, publications.get(dataset.pk)))
    return [OverviewRow(i, configs.get(i.pk), datasets.get(i.pk, [])) for i in institutions]
