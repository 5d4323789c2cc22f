"""Reads of the open data metadata: a dataset's DCAT-AP graph (``dataset_graph``, its IRI, whether
it may be published), its validation (cached per graph hash) and quality score, the templates an
actor may use, and the catalogue pages (``catalog_page``).

Public functions other apps code against (the CKAN sync): ``dataset_graph``, ``dataset_iri``,
``dataset_publishable``, ``dataset_in_open_catalog``; and ``signals.metadata_changed``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from rdflib import Graph

from dagr.anonymisation.models import TestDataset
from dagr.catalog.models import Dataset
from dagr.catalog.selectors import dataset_get_editable
from dagr.core.actors import Visitor
from dagr.core.errors import NotFound
from dagr.permissions import rules

from . import dcat, quality, rdfout, validation
from . import vocabularies as v
from .models import TEMPLATE_FIELDS, DatasetMetadata, MetadataTemplate


def dataset_iri(dataset: Dataset) -> str:
    """The dataset's stable IRI (``<site>/catalog/<code>/#dataset``)."""
    return dcat.dataset_iri(dataset.code)


def metadata_of(dataset: Dataset) -> DatasetMetadata:
    """The dataset's metadata row, or an unsaved empty one (nothing described yet). Read from
    the database, not from the dataset's cached relation, which a service may have outdated."""
    return DatasetMetadata.objects.filter(dataset=dataset).first() or DatasetMetadata(
        dataset=dataset
    )


def _published_test_codes(dataset_ids: Iterable[int]) -> set[int]:
    """Ids (of the given source datasets) that have published anonymised test data."""
    return set(
        TestDataset.objects.filter(
            source_id__in=list(dataset_ids), release__isnull=False
        ).values_list("source_id", flat=True)
    )


def dataset_distributions(
    dataset: Dataset, meta: DatasetMetadata, *, has_test_data: bool
) -> list[dcat.Distribution]:
    """The distributions DAGR serves for the dataset: the data API (documented on the dataset's
    page), the public anonymised test data (CSV, XLSX, API) when a release is published, and the
    data export for a dataset whose access rights are public."""
    code, site = dataset.code, dcat.site()
    restricted = f"{v.EU}access-right/RESTRICTED"
    public = f"{v.EU}access-right/PUBLIC"
    out = [
        dcat.Distribution(
            "api",
            "Datu API (ar piekļuves atļauju)",
            "Data API (with an access grant)",
            "Ieraksti JSON formātā caur DAGR datu API; lauku apraksts un API dokumentācija "
            "datu kopas lapā.",
            "Records as JSON through DAGR's data API; the fields and the API are documented on "
            "the dataset's page.",
            access_url=dcat.dataset_page(code),
            download_url="",
            file_type="JSON",
            access_rights=meta.access_rights or restricted,
        )
    ]
    if has_test_data:
        for fmt, kind_lv, kind_en in (
            ("CSV", "CSV fails", "CSV file"),
            ("XLSX", "XLSX fails", "XLSX file"),
        ):
            url = f"{site}/test-data/{code}.{fmt.lower()}"
            out.append(
                dcat.Distribution(
                    f"test-{fmt.lower()}",
                    f"Anonimizēti testa dati ({kind_lv})",
                    f"Anonymised test data ({kind_en})",
                    "Fiktīvi, anonimizēti ieraksti ar tādu pašu struktūru kā īstajiem datiem; "
                    "brīvi lejupielādējami.",
                    "Fictitious, anonymised records with the real data's structure; free to "
                    "download.",
                    access_url=f"{site}/test-data/{code}/",
                    download_url=url,
                    file_type=fmt,
                    access_rights=public,
                )
            )
        out.append(
            dcat.Distribution(
                "test-api",
                "Anonimizēti testa dati (API)",
                "Anonymised test data (API)",
                "Testa datu ieraksti JSON formātā lapu pa lapai, bez autentifikācijas.",
                "The test records as JSON, page by page, without authentication.",
                access_url=f"{site}/api/v1/test-data/{code}/records",
                download_url="",
                file_type="JSON",
                access_rights=public,
            )
        )
    if meta.access_rights == public:
        out.append(
            dcat.Distribution(
                "export-csv",
                "Datu eksports (CSV)",
                "Data export (CSV)",
                "Visi pašreizējie datu kopas ieraksti CSV formātā, bez laukiem, kas satur "
                "personas datus; brīvi lejupielādējami.",
                "All current records of the dataset as CSV, without the fields that hold "
                "personal data; free to download.",
                access_url=dcat.dataset_page(code),
                download_url=f"{site}/open-data/download/{code}.csv",
                file_type="CSV",
                access_rights=public,
            )
        )
    return out


def description_of(
    dataset: Dataset, meta: DatasetMetadata | None = None, *, has_test_data: bool | None = None
) -> dcat.Description:
    """The plain values the graph is made from (the provider's name when no publisher is set)."""
    meta = meta if meta is not None else metadata_of(dataset)
    if has_test_data is None:
        has_test_data = bool(_published_test_codes([dataset.pk]))
    values = {name: getattr(meta, name) for name in TEMPLATE_FIELDS}
    if not (values["publisher_name_lv"] or values["publisher_name_en"]):
        values["publisher_name_lv"] = values["publisher_name_en"] = dataset.provider.name
    return dcat.Description(
        code=dataset.code,
        provider_id=dataset.provider_id,
        title_lv=dataset.title_lv,
        title_en=dataset.title_en,
        description_lv=dataset.description_lv,
        description_en=dataset.description_en,
        issued=dataset.created_at.date(),
        modified=max(dataset.updated_at, meta.updated_at or dataset.updated_at),
        keywords_lv=list(meta.keywords_lv),
        keywords_en=list(meta.keywords_en),
        temporal_start=meta.temporal_start,
        temporal_end=meta.temporal_end,
        documentation=meta.documentation,
        version=meta.version,
        version_notes_lv=meta.version_notes_lv,
        version_notes_en=meta.version_notes_en,
        provenance_lv=meta.provenance_lv,
        provenance_en=meta.provenance_en,
        rights_lv=meta.rights_lv,
        rights_en=meta.rights_en,
        distribution_status=meta.distribution_status,
        distributions=dataset_distributions(dataset, meta, has_test_data=has_test_data),
        **values,
    )


def dataset_graph(dataset: Dataset) -> Graph:
    """The dataset's DCAT-AP 3.0.1 graph with its distributions, publisher, contact point and
    the vocabulary concepts it uses (typed and labelled lv/en)."""
    return dcat.dataset_graph(description_of(dataset))


def dataset_validation(dataset: Dataset) -> validation.Report:
    """The SHACL validation of the dataset's graph: the cached one when the hash of what the
    graph is made from is unchanged, a fresh one otherwise (``services.validation_refresh``
    stores it)."""
    meta = metadata_of(dataset)
    description = description_of(dataset, meta)
    digest = dcat.description_hash(description)
    if meta.pk and meta.validated_hash == digest and meta.validation:
        return validation.Report.from_json(meta.validation)
    return validation.validate_cached(dcat.dataset_graph(description), digest=digest)


def dataset_in_open_catalog(dataset: Dataset) -> bool:
    """True when the dataset is in the open data catalogue now (published, not withdrawn, not
    retired): what the CKAN sync mirrors — a package is marked deleted once this is False."""
    return published_datasets().filter(pk=dataset.pk).exists()


def open_data_export(*, actor: Visitor, code: str) -> tuple[Dataset, list[str]]:
    """The dataset of the public data export and its columns: the schema's top-level fields
    without those that are, or hold, personal data. ``NotFound`` unless anyone may download it
    (``rules.can_download_open_data``) — the same answer whether or not the dataset exists."""
    dataset = (
        Dataset.objects.select_related("schema", "open_metadata")
        .defer("open_metadata__validation")
        .filter(code=code)
        .first()
    )
    if dataset is None or not rules.can_download_open_data(actor, dataset):
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    fields = dataset.schema.definition.get("fields", []) if dataset.schema else []
    return dataset, [f["name"] for f in fields if not _holds_personal_data(f)]


def _holds_personal_data(field: dict[str, Any]) -> bool:
    return bool(field.get("personal")) or any(
        _holds_personal_data(f) for f in field.get("fields") or []
    )


def dataset_publishable(dataset: Dataset) -> bool:
    """True when the dataset's graph violates no mandatory shape (warnings do not block)."""
    return dataset_validation(dataset).conforms


def dataset_quality(dataset: Dataset) -> quality.Score:
    """The MQA-style quality score (405 points) of the dataset's graph."""
    graph = dataset_graph(dataset)
    return quality.score(graph, dataset_iri(dataset), report=dataset_validation(dataset))


# --- access ------------------------------------------------------------------------------------


def dataset_for_metadata(*, actor: Visitor, code: str) -> Dataset:
    """The dataset whose metadata the actor edits (the catalogue's edit rule: the provider's
    representatives and administrators); NotFound/PermissionDenied as the catalogue's pages."""
    return dataset_get_editable(actor=actor, code=code)  # type: ignore[arg-type]  # a Visitor that passed @authenticated is an Actor


def templates_for(actor: Visitor, dataset: Dataset | None = None) -> QuerySet[MetadataTemplate]:
    """Templates the actor may use: global ones and those of institutions where the actor may
    manage templates (with ``dataset``: only global ones and the dataset's institution's)."""
    qs = MetadataTemplate.objects.select_related("institution")
    if dataset is not None:
        return qs.filter(Q(institution__isnull=True) | Q(institution_id=dataset.provider_id))
    if rules.is_portal_admin(actor):
        return qs
    own = rules.provider_institutions(actor).values("pk")
    return qs.filter(Q(institution__isnull=True) | Q(institution_id__in=own))


def template_get(*, actor: Visitor, pk: int) -> MetadataTemplate:
    template = templates_for(actor).filter(pk=pk).first()
    if template is None:
        raise NotFound(_("No such metadata template."), code="metadata_template_not_found")
    return template


# --- the catalogue -----------------------------------------------------------------------------


# A retired dataset stays on the catalogue's pages (public, marked retired) but is withdrawn from
# the open data catalogue (and so from the CKAN portal): only datasets in production are in it.
OPEN_DATA_STATUSES = (Dataset.Status.PRODUCTION,)


def published_datasets() -> QuerySet[Dataset]:
    """Datasets in the open data catalogue: published metadata, in production (not retired)."""
    return (
        Dataset.objects.filter(open_metadata__published=True, status__in=OPEN_DATA_STATUSES)
        .select_related("provider", "open_metadata")
        .defer("open_metadata__validation")  # the stored SHACL report: not needed here
        .order_by("code")
    )


CATALOG_TITLE = ("DAGR atvērto datu katalogs", "DAGR open data catalogue")
CATALOG_DESCRIPTION = (
    "Valsts datu izplatīšanas platformas DAGR datu kopu apraksti (DCAT-AP 3).",
    "Descriptions of the datasets of the national data distribution platform DAGR (DCAT-AP 3).",
)


def catalog_document(
    *,
    fmt: str,
    page: int,
    per_page: int,
    modified_since: datetime | None,
    base: str,
    query: dict[str, str],
) -> bytes:
    """One page of the DCAT-AP catalogue, serialised (``rdfout.RDF_FORMATS``), with Hydra
    paging. Made fresh for every request (three queries, then the triples written straight to
    the format: ``rdfout``), so every process always serves the current descriptions — no
    cache to invalidate."""
    triples = catalog_triples(
        page=page, per_page=per_page, modified_since=modified_since, base=base, query=query
    )
    return rdfout.serialize(triples, fmt)


def catalog_triples(
    *,
    page: int,
    per_page: int,
    modified_since: datetime | None,
    base: str,
    query: dict[str, str],
) -> dcat.Triples:
    """The triples of one page of the catalogue: its datasets, the catalogue node, the paging."""
    qs = published_datasets()
    if modified_since is not None:
        qs = qs.filter(
            Q(updated_at__gte=modified_since) | Q(open_metadata__updated_at__gte=modified_since)
        )
    total = qs.count()
    rows: Sequence[Dataset] = list(qs[(page - 1) * per_page : page * per_page])
    with_test_data = _published_test_codes(d.pk for d in rows)
    g = dcat.Triples()
    iris = []
    last: datetime | None = None
    for ds in rows:
        meta = ds.open_metadata
        description = description_of(ds, meta, has_test_data=ds.pk in with_test_data)
        iris.append(str(dcat.add_dataset(g, description)))
        stamp = max(ds.updated_at, meta.updated_at)
        last = stamp if last is None or stamp > last else last
    dcat.add_catalog(
        g,
        dataset_iris=iris,
        title_lv=CATALOG_TITLE[0],
        title_en=CATALOG_TITLE[1],
        description_lv=CATALOG_DESCRIPTION[0],
        description_en=CATALOG_DESCRIPTION[1],
        modified=last,
    )
    dcat.add_paging(g, base=base, page=page, per_page=per_page, total=total, query=query)
    return g


def dataset_document(dataset: Dataset, fmt: str) -> bytes:
    """The dataset's graph serialised (content negotiation on its page)."""
    return rdfout.serialize(dcat.dataset_triples(description_of(dataset)), fmt)


def descriptions_of(
    datasets: Sequence[Dataset],
) -> list[tuple[Dataset, DatasetMetadata, dcat.Description]]:
    """Many datasets' descriptions in a few queries (validation of many, the benchmark)."""
    metas = {m.dataset_id: m for m in DatasetMetadata.objects.filter(dataset__in=datasets)}
    with_test_data = _published_test_codes(d.pk for d in datasets)
    out = []
    for ds in datasets:
        meta = metas.get(ds.pk) or DatasetMetadata(dataset=ds)
        out.append((ds, meta, description_of(ds, meta, has_test_data=ds.pk in with_test_data)))
    return out


def dataset_preview(
    dataset: Dataset, *, catalog_values: dict[str, Any], metadata_values: dict[str, Any]
) -> tuple[Graph, validation.Report, quality.Score]:
    """The graph, validation and score the dataset would have with these (unsaved) values: the
    form's validation as you type. Nothing is written."""
    draft = copy.copy(dataset)
    for name, value in catalog_values.items():
        setattr(draft, name, value)
    meta = copy.copy(metadata_of(dataset))
    meta.dataset = draft
    for name, value in metadata_values.items():
        setattr(meta, name, value)
    description = description_of(draft, meta)
    graph = dcat.dataset_graph(description)
    report = validation.validate_cached(graph, digest=dcat.description_hash(description))
    return graph, report, quality.score(graph, dataset_iri(dataset), report=report)
