"""Reads of test data: what is published (public), and the provider's datasets and releases.

Published test data is read from the test datasets' records (the records the last published
release loaded), so downloads, the public API and sandbox grants all see the same data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dagr.accounts.models import Institution
from dagr.catalog.models import Dataset
from dagr.catalog.schema import FieldDef
from dagr.catalog.selectors import dataset_get_visible
from dagr.core import cursors
from dagr.core.actors import Actor, Visitor
from dagr.core.errors import NotFound, PermissionDenied
from dagr.permissions import rules
from dagr.records.queries import records_page
from dagr.records.selectors import live_record_batches

from .configuration import default_rules, effective_rules, schema_of
from .models import Release, ReleaseDataset, TestDataset

CURSOR_PREFIX = "t1"
DEFAULT_PAGE = 100
MAX_PAGE = 1000


@dataclass
class Published:
    """A published test dataset: its source, the test dataset and the release it shows."""

    source: Dataset
    target: Dataset
    release: Release
    item: ReleaseDataset | None


@dataclass
class ProviderGroup:
    provider: Institution
    items: list[Published] = field(default_factory=list)


def _published_links() -> QuerySet[TestDataset]:
    return TestDataset.objects.filter(
        release__status=Release.Status.PUBLISHED, target__schema__isnull=False
    ).select_related("source", "source__provider", "target", "target__schema", "release")


def _published(link: TestDataset) -> Published:
    assert link.release is not None
    item = ReleaseDataset.objects.filter(release=link.release, source=link.source).first()
    return Published(link.source, link.target, link.release, item)


def published_list() -> list[ProviderGroup]:
    """Every published test dataset, grouped by provider (provider name, then code)."""
    groups: dict[int, ProviderGroup] = {}
    links = _published_links().order_by("source__provider__name", "source__code")
    items = {
        (i.release_id, i.source_id): i
        for i in ReleaseDataset.objects.filter(release_id__in=[lk.release_id for lk in links])
    }
    for link in links:
        assert link.release is not None  # _published_links: only links to a published release
        item = items.get((link.release.pk, link.source_id))
        published = Published(link.source, link.target, link.release, item)
        groups.setdefault(
            link.source.provider_id, ProviderGroup(link.source.provider)
        ).items.append(published)
    return list(groups.values())


def published_get(*, code: str) -> Published:
    """The published test data of the dataset ``code`` (its source's code, or the test
    dataset's own); ``NotFound`` for an unknown dataset or one without published test data."""
    link = (
        _published_links().filter(source__code=code).first()
        or _published_links().filter(target__code=code).first()
    )
    if link is None:
        raise NotFound(_("No published test data of this dataset."), code="test_data_not_found")
    return _published(link)


def test_records(target: Dataset) -> Iterator[dict[str, Any]]:
    """Every record of a test dataset, streamed in id order (downloads)."""
    for batch in live_record_batches(dataset_id=target.pk):
        for _pk, data in batch:
            yield data


def test_records_page(
    *, target: Dataset, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a test dataset's records (keyset by record id) and the next page's cursor."""
    after = 0
    if cursor:
        (number,) = cursors.cursor_decode(cursor, CURSOR_PREFIX, 1)
        if not number.isdigit() or len(number) > 18:
            raise cursors.invalid_cursor()
        after = int(number)
    rows = records_page(
        dataset_id=target.pk, after_id=after, limit=limit + 1, where="1=1", params=()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursors.cursor_encode(CURSOR_PREFIX, rows[-1][0]) if more and rows else None
    return [data for _pk, data in rows], next_cursor


@dataclass
class FieldDoc:
    path: str
    field: FieldDef
    rule: dict[str, Any]
    depth: int


def field_docs(dataset: Dataset, rules_json: dict[str, Any] | None = None) -> list[FieldDoc]:
    """Every field path of the dataset with the rule that applies (``rules_json``: a release's
    recorded rules; else the dataset's current ones)."""
    schema = schema_of(dataset)
    current = {p: r.model_dump(mode="json") for p, r in effective_rules(dataset).items()}
    applied = rules_json or current
    return [
        FieldDoc(path, f, applied.get(path, {}), path.count("."))
        for path, f in schema.field_paths()
    ]


def columns(dataset: Dataset) -> list[str]:
    """The top-level field names: the CSV/XLSX columns (nested lists become JSON cells)."""
    return [f.name for f in schema_of(dataset).fields]


# --- the provider's side -------------------------------------------------------------------------


def manageable_datasets(actor: Actor) -> QuerySet[Dataset]:
    """Source datasets (not test datasets) whose test data the actor prepares."""
    qs = Dataset.objects.filter(schema__isnull=False, test_source_link__isnull=True)
    return (
        rules.test_data_manageable(actor, qs)
        .select_related("provider")
        .order_by("provider__name", "code")
    )


def dataset_for_test_data(*, actor: Visitor, code: str) -> Dataset:
    """A source dataset whose test data the actor prepares; ``NotFound`` when the actor may not
    even see it (as for a missing one), ``PermissionDenied`` when it is visible but not theirs."""
    dataset = dataset_get_visible(actor=actor, code=code)
    if TestDataset.objects.filter(target=dataset).exists():
        raise NotFound(_("This is a test dataset itself."), code="dataset_not_found")
    if not rules.can_manage_test_data(actor, dataset):
        raise PermissionDenied(
            _("You may not prepare test data of this dataset."), code="test_data_denied"
        )
    return dataset


def release_list(*, dataset: Dataset, limit: int = 50) -> list[Release]:
    return list(
        Release.objects.filter(items__source=dataset).order_by("-number").distinct()[:limit]
    )


def release_get_for(*, actor: Visitor, pk: int) -> Release:
    """A release the actor may see (who may build a release of all its datasets); else
    ``NotFound``, as for a missing one."""
    release = Release.objects.filter(pk=pk).first()
    if release is None:
        raise NotFound(_("No such release."), code="release_not_found")
    sources = [i.source for i in release.items.select_related("source")]
    if not rules.can_build_test_release(actor, sources):
        raise NotFound(_("No such release."), code="release_not_found")
    return release


def release_items(release: Release) -> list[ReleaseDataset]:
    return list(release.items.select_related("source", "test_dataset"))


def release_progress(release: Release) -> dict[str, Any]:
    return {
        "status": release.status,
        "status_label": release.get_status_display(),
        "phase": release.phase,
        "done": release.done,
        "total": release.total,
        "percent": release.percent,
        "finished": release.status not in (Release.Status.QUEUED, Release.Status.RUNNING),
    }


def linkable_datasets(dataset: Dataset, actor: Actor) -> list[Dataset]:
    """Other datasets the actor manages that share an identifier kind with ``dataset`` (a
    company register's board members are persons of the population register): built in one
    release, their joins survive."""
    kinds = {kind for _p, kind in schema_of(dataset).identifier_paths() if kind != "other"}
    found = []
    for other in manageable_datasets(actor).exclude(pk=dataset.pk).select_related("schema"):
        other_kinds = {k for _p, k in schema_of(other).identifier_paths() if k != "other"}
        if kinds & other_kinds:
            found.append(other)
    return found


def default_rule_of(dataset: Dataset) -> dict[str, dict[str, Any]]:
    return {p: r.model_dump(mode="json") for p, r in default_rules(schema_of(dataset)).items()}


REPORT_HEAD = ("passed", "k", "k_required", "l")
# what the page shows in its own sections; anything else the engine adds is listed as JSON
REPORT_SHOWN = (
    *REPORT_HEAD,
    "quasi_identifiers",
    "persons",
    "classes",
    "smallest_classes",
    "datasets",
    "records",
    "leak_proof",
    "identifiers",
    "addresses",
    "collisions",
    "problems",
    "advice",
)


def _level_label(level: str) -> str:
    return {
        "exact": _("exact value"),
        "year": _("year"),
        "decade": _("decade"),
        "month": _("month"),
        "territory": _("territory"),
        "parent": _("parent territory"),
    }.get(level, level)


def _category_label(category: str) -> str:
    return {
        "kept": _("kept"),
        "pseudonymised": _("pseudonymised"),
        "faked": _("faked"),
        "generalised": _("generalised"),
        "shifted": _("date shifted"),
        "suppressed": _("suppressed (masked, emptied or constant)"),
    }.get(category, category)


def report_view(report: dict[str, Any] | None) -> dict[str, Any]:
    """The engine's privacy report (``PrivacyReport.as_json``) as the pages show it, in the
    page's language: the quasi-identifiers k was computed over, the per-field counts of each
    dataset, the leak proof, the identifiers repaired, the advice and problems; whatever else
    the report holds as ``extra`` rows."""
    report = report or {}
    qis = [
        {
            "dataset": q.get("dataset", ""),
            "path": q.get("path", ""),
            "level": _level_label(str(q.get("level", "exact"))),
        }
        for q in report.get("quasi_identifiers") or []
        if isinstance(q, dict)
    ]
    datasets = []
    for code, data in (report.get("datasets") or {}).items():
        if not isinstance(data, dict):
            continue
        fields = [
            {
                "path": path,
                "rule": info.get("rule", ""),
                "category": _category_label(str(info.get("category", ""))),
                "values": info.get("values", 0),
            }
            for path, info in (data.get("fields") or {}).items()
            if isinstance(info, dict)
        ]
        totals = [
            (_category_label(str(category)), n)
            for category, n in (data.get("totals") or {}).items()
        ]
        datasets.append(
            {"code": code, "records": data.get("records", 0), "fields": fields, "totals": totals}
        )
    leak = report.get("leak_proof") if isinstance(report.get("leak_proof"), dict) else None
    smallest = [
        {
            "values": ", ".join(f"{name} = {value}" for name, value in c.get("class", {}).items()),
            "size": c.get("size"),
        }
        for c in report.get("smallest_classes") or []
        if isinstance(c, dict)
    ]
    extra = [
        (
            name,
            str(value)
            if isinstance(value, str | int | float)
            else json.dumps(value, ensure_ascii=False, indent=2),
        )
        for name, value in report.items()
        if name not in REPORT_SHOWN
    ]
    return {
        "quasi_identifiers": qis,
        "persons": report.get("persons"),
        "classes": report.get("classes"),
        "smallest_classes": smallest,
        "datasets": datasets,
        "records": report.get("records"),
        "leak_proof": leak,
        "identifiers": report.get("identifiers") or {},
        "addresses": report.get("addresses") or {},
        "collisions": report.get("collisions"),
        "problems": [str(p) for p in report.get("problems") or []],
        "advice": report_advice(report),
        "extra": extra,
    }


def report_advice(report: dict[str, Any]) -> list[str]:
    """The engine's advice on what to tighten (items ``{"lv": …, "en": …, …}``) in the page's
    language."""
    advice = (report or {}).get("advice") or []
    if not isinstance(advice, list):
        advice = [advice]
    lang = "en" if (get_language() or "lv").startswith("en") else "lv"
    return [
        str(a.get(lang) or a.get("lv") or "") if isinstance(a, dict) else str(a) for a in advice
    ]


def test_dataset_ids() -> set[int]:
    """Ids of every test dataset that holds a published release (open to everyone)."""
    return set(
        TestDataset.objects.filter(release__isnull=False).values_list("target_id", flat=True)
    )
