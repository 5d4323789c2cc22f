"""Reads of the catalogue. ``datasets_visible_to`` is the one place that decides which datasets an
actor may see; the portal and the API both go through it.

- the public (anyone, no login): production and retired datasets, and the sandbox datasets that
  are open to everyone (test datasets: ``hooks.open_sandbox_ids``);
- a data provider representative: also the sandbox datasets of their provider institutions;
- a portal administrator (and the system actor): everything.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution
from dagr.core.actors import Actor, Visitor
from dagr.core.errors import NotFound, PermissionDenied
from dagr.permissions import rules

from . import hooks
from .models import Dataset, SchemaVersion
from .schema import FieldDef, SchemaDef, parse_schema
from .schema_diff import schema_changes

PUBLIC_STATUSES = (Dataset.Status.PRODUCTION, Dataset.Status.RETIRED)

TYPE_LABELS: dict[str, Any] = {
    "string": _("text"),
    "integer": _("whole number"),
    "decimal": _("number"),
    "boolean": _("yes/no"),
    "date": _("date"),
    "datetime": _("date and time"),
    "list": _("list of objects"),
}
IDENTIFIER_LABELS: dict[str, Any] = {
    "personal_code": _("personal code"),
    "company_code": _("company registration number"),
    "address_code": _("address code"),
    "other": _("other identifier"),
}


def _english() -> bool:
    return (get_language() or "lv").startswith("en")


def datasets_visible_to(actor: Visitor) -> QuerySet[Dataset]:
    qs = Dataset.objects.all()
    if rules.is_portal_admin(actor):
        return qs
    public = Q(status__in=PUBLIC_STATUSES)
    open_ids = hooks.open_sandbox_ids()  # anonymised test datasets: public, though sandbox
    if open_ids:
        public |= Q(pk__in=open_ids, status=Dataset.Status.SANDBOX)
    if rules.is_authenticated(actor):
        own = rules.provider_institutions(actor).values("pk")
        return qs.filter(public | Q(provider_id__in=own))
    return qs.filter(public)


@dataclass
class ProviderGroup:
    provider: Institution
    datasets: list[Dataset] = field(default_factory=list)


def _search(qs: QuerySet[Dataset], search: str, provider_id: int | None) -> QuerySet[Dataset]:
    search = (search or "").strip()
    if search:
        qs = qs.filter(
            Q(code__icontains=search)
            | Q(title_lv__icontains=search)
            | Q(title_en__icontains=search)
        )
    if provider_id:
        qs = qs.filter(provider_id=provider_id)
    return qs


def _grouped(qs: QuerySet[Dataset]) -> list[ProviderGroup]:
    groups: dict[int, ProviderGroup] = {}
    for ds in qs.select_related("provider", "schema").order_by("provider__name", "code"):
        groups.setdefault(ds.provider_id, ProviderGroup(ds.provider)).datasets.append(ds)
    return list(groups.values())


def dataset_list_public(*, search: str = "", provider_id: int | None = None) -> list[ProviderGroup]:
    """Production and retired datasets, grouped by provider (ordered by provider name, code)."""
    return _grouped(_search(datasets_visible_to(None), search, provider_id))


def dataset_list_for(
    *, actor: Visitor, search: str = "", provider_id: int | None = None
) -> list[ProviderGroup]:
    """What ``actor`` sees in the catalogue: the public datasets plus the sandbox datasets of the
    actor's provider institutions (an administrator sees all), grouped by provider."""
    return _grouped(_search(datasets_visible_to(actor), search, provider_id))


def dataset_queryset_for(
    *,
    actor: Visitor,
    search: str = "",
    provider_id: int | None = None,
    provider_registration_number: str = "",
) -> QuerySet[Dataset]:
    """The same as ``dataset_list_for``, flat (for the API's pagination)."""
    qs = _search(datasets_visible_to(actor), search, provider_id)
    if provider_registration_number:
        qs = qs.filter(provider__registration_number=provider_registration_number)
    return qs.select_related("provider", "schema").order_by("code")


# --- the public catalogue's search and filters ----------------------------------------------------

TEST_SUFFIX = "-test"  # anonymisation names a source's test dataset ``<code>-test``
CATALOGUE_STATUSES = (Dataset.Status.PRODUCTION, Dataset.Status.SANDBOX, Dataset.Status.RETIRED)


def _folded(text: str) -> str:
    """Lower case without diacritics, so that ``iedzivotaju`` finds ``iedzīvotāju``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _schema_fields(definition: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(path, field document) of every field, nested list fields too, read from the stored
    document without building the typed schema (the catalogue lists many datasets)."""
    for item in definition.get("fields") or []:
        if not isinstance(item, dict):
            continue
        path = f"{prefix}{item.get('name', '')}"
        yield path, item
        if item.get("fields"):
            yield from _schema_fields(item, prefix=f"{path}.")


@dataclass(frozen=True)
class CatalogueFilters:
    search: str = ""
    provider_id: int | None = None
    status: str = ""  # one of CATALOGUE_STATUSES, or "" for all
    has_test_data: bool = False
    identifier_kind: str = ""  # a key of IDENTIFIER_LABELS, or "" for all

    @property
    def active(self) -> bool:
        return bool(
            self.search.strip()
            or self.provider_id
            or self.status
            or self.has_test_data
            or self.identifier_kind
        )


@dataclass
class CatalogueEntry:
    dataset: Dataset
    identifier_kinds: list[str]
    test_data_code: str  # the source code the /test-data/ pages use, or ""
    is_test_dataset: bool
    matched_fields: list[str]  # field paths/titles the search matched

    @property
    def identifier_labels(self) -> list[str]:
        return [str(IDENTIFIER_LABELS.get(kind, kind)) for kind in self.identifier_kinds]


def _search_text(ds: Dataset) -> str:
    return _folded(
        " ".join(
            [
                ds.code,
                ds.title_lv,
                ds.title_en,
                ds.description_lv,
                ds.description_en,
                ds.provider.name,
                ds.provider.short_name or "",
            ]
        )
    )


def catalogue_search(*, actor: Visitor, filters: CatalogueFilters) -> list[CatalogueEntry]:
    """The catalogue page: datasets the actor may see whose title, description, code, provider
    or field names/titles contain every word of the search (case and diacritics ignored), then
    narrowed by provider, status, "has a test dataset" and identifier kind; ordered by provider
    name and code. One query for the datasets (schemas and providers joined) and one for the
    open sandbox ids; the matching runs over the fetched rows — a national catalogue holds
    hundreds of datasets, not millions. Queries: the datasets (providers and schemas joined), the
    open sandbox ids, and their codes."""
    qs = datasets_visible_to(actor).select_related("provider", "schema")
    if filters.provider_id:
        qs = qs.filter(provider_id=filters.provider_id)
    if filters.status in CATALOGUE_STATUSES:
        qs = qs.filter(status=filters.status)
    open_ids = hooks.open_sandbox_ids()
    rows = list(qs.order_by("provider__name", "code"))
    # test datasets are public, so every one counts (also when a filter hides it from the list)
    test_codes = (
        set(Dataset.objects.filter(pk__in=open_ids).values_list("code", flat=True))
        if open_ids
        else set()
    )
    words = [_folded(w) for w in filters.search.split()][:10]
    entries: list[CatalogueEntry] = []
    for ds in rows:
        definition = ds.schema.definition if ds.schema else {}
        fields = list(_schema_fields(definition))
        kinds = sorted({str(f["identifier"]) for _p, f in fields if f.get("identifier")})
        if filters.identifier_kind and filters.identifier_kind not in kinds:
            continue
        is_test = ds.pk in open_ids
        test_data_code = ds.code if f"{ds.code}{TEST_SUFFIX}" in test_codes else ""
        if is_test and ds.code.endswith(TEST_SUFFIX):
            test_data_code = ds.code.removesuffix(TEST_SUFFIX)
        if filters.has_test_data and not test_data_code:
            continue
        matched: list[str] = []
        if words:
            text = _search_text(ds)
            field_texts = {
                path: _folded(f"{path} {f.get('title_lv', '')} {f.get('title_en', '')}")
                for path, f in fields
            }
            everything = text + " " + " ".join(field_texts.values())
            if not all(word in everything for word in words):
                continue
            matched = [path for path, t in field_texts.items() if any(word in t for word in words)][
                :5
            ]
        entries.append(CatalogueEntry(ds, kinds, test_data_code, is_test, matched))
    return entries


def catalogue_groups(
    entries: list[CatalogueEntry],
) -> list[tuple[Institution, list[CatalogueEntry]]]:
    """Entries grouped by provider, in the order given."""
    groups: dict[int, tuple[Institution, list[CatalogueEntry]]] = {}
    for entry in entries:
        groups.setdefault(entry.dataset.provider_id, (entry.dataset.provider, []))[1].append(entry)
    return list(groups.values())


def test_data_code_for(dataset: Dataset) -> str:
    """The code under which the /test-data/ pages publish this dataset's test data (its own code
    for a source with a published test dataset, the source's for a test dataset), or ""."""
    open_ids = hooks.open_sandbox_ids()
    if not open_ids:
        return ""
    if dataset.pk in open_ids:
        return dataset.code.removesuffix(TEST_SUFFIX) if dataset.code.endswith(TEST_SUFFIX) else ""
    target = f"{dataset.code}{TEST_SUFFIX}"
    return dataset.code if Dataset.objects.filter(pk__in=open_ids, code=target).exists() else ""


def catalogue_providers(*, actor: Visitor) -> QuerySet[Institution]:
    """Institutions that have at least one dataset the actor may see (the provider filter)."""
    ids = datasets_visible_to(actor).values("provider_id")
    return Institution.objects.filter(pk__in=ids).order_by("name")


def dataset_get_visible(*, actor: Visitor, code: str) -> Dataset:
    """The dataset, or ``NotFound`` when it does not exist or the actor may not see it."""
    dataset = (
        datasets_visible_to(actor)
        .select_related("provider", "schema", "schema__created_by")
        .filter(code=code)
        .first()
    )
    if dataset is None:
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    return dataset


def dataset_get_editable(*, actor: Actor, code: str) -> Dataset:
    """For the manage pages: ``NotFound`` when invisible, ``PermissionDenied`` when visible but
    not editable by the actor."""
    dataset = dataset_get_visible(actor=actor, code=code)
    if not rules.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You may not change this dataset."), code="dataset_edit_denied")
    return dataset


def dataset_schema(dataset: Dataset) -> SchemaDef | None:
    """The current schema, typed."""
    return parse_schema(dataset.schema.definition) if dataset.schema else None


def schema_version_get(*, dataset: Dataset, number: int | None = None) -> SchemaVersion:
    if number is None:
        if dataset.schema is None:
            raise NotFound(_("No such schema version."), code="schema_version_not_found")
        return dataset.schema
    version = SchemaVersion.objects.filter(dataset=dataset, number=number).first()
    if version is None:
        raise NotFound(_("No such schema version."), code="schema_version_not_found")
    return version


@dataclass
class HistoryEntry:
    version: SchemaVersion
    changes: list[Any]  # schema_diff.SchemaChange; empty for the first version


def schema_history(*, dataset: Dataset) -> list[HistoryEntry]:
    """Every schema version of the dataset, newest first, each with its changes against the
    version before it."""

    versions = list(
        SchemaVersion.objects.filter(dataset=dataset)
        .select_related("created_by")
        .order_by("number")
    )
    entries: list[HistoryEntry] = []
    previous: SchemaDef | None = None
    for version in versions:
        current = parse_schema(version.definition)
        entries.append(HistoryEntry(version, schema_changes(previous, current) if previous else []))
        previous = current
    return list(reversed(entries))


# --- presentation helpers shared by the portal pages and the API --------------------------------


@dataclass
class FieldRow:
    path: str
    name: str
    depth: int
    field: FieldDef
    title: str
    description: str
    type_label: str
    identifier_label: str
    is_key: bool


def schema_rows(schema: SchemaDef) -> list[FieldRow]:
    """The fields in document order, nested list fields after their list with ``depth``."""
    english = _english()
    rows: list[FieldRow] = []
    for path, f in schema.field_paths():
        rows.append(
            FieldRow(
                path=path,
                name=f.name,
                depth=path.count("."),
                field=f,
                title=f.title_en if english else f.title_lv,
                description=(
                    (f.description_en or f.description_lv)
                    if english
                    else (f.description_lv or f.description_en)
                ),
                type_label=str(TYPE_LABELS[f.type]),
                identifier_label=str(IDENTIFIER_LABELS[f.identifier]) if f.identifier else "",
                is_key=path == schema.key,
            )
        )
    return rows


def schema_identifiers(schema: SchemaDef) -> list[FieldRow]:
    """The identifier fields (DU-11): every field a record can be looked up by, key first."""
    rows = [row for row in schema_rows(schema) if row.field.identifier]
    return sorted(rows, key=lambda row: not row.is_key)


@dataclass
class SchemaPreview:
    rows: list[FieldRow]
    changes: list[Any]  # schema_diff.SchemaChange
    invalid_count: int = 0
    examples: list[Any] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not self.changes

    @property
    def breaking(self) -> list[Any]:
        return [c for c in self.changes if c.breaking]


def schema_change_preview(*, dataset: Dataset, schema: SchemaDef) -> SchemaPreview:
    """What saving ``schema`` would do: the parsed field table, the changes against the current
    version and, for breaking changes, how many stored records would become invalid."""
    current = dataset_schema(dataset)
    changes = schema_changes(current, schema) if current else []
    preview = SchemaPreview(rows=schema_rows(schema), changes=changes)
    if preview.breaking:
        preview.invalid_count, preview.examples = hooks.invalid_stored_records(dataset, schema, 5)
    return preview
