"""Reading the record store. These selectors answer for the platform itself (loading, the
catalogue, the demo); the recipient-facing retrieval narrows them through ``dagr.grants``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.core.errors import NotFound

from .models import Change, Load, Record, RecordIdentifier
from .queries import Row, record_id_bounds, record_texts_page


def live_records(dataset: Dataset) -> QuerySet[Record]:
    return Record.objects.filter(dataset=dataset, deleted_at__isnull=True)


def record_list_by_identifier(*, dataset: Dataset, path: str, value: str) -> QuerySet[Record]:
    """Live records having ``value`` in identifier field ``path`` (``board_members.personal_code``
    for nested lists). Several records may share a non-key identifier; ordered by id.

    The key field has no ``RecordIdentifier`` rows (the loader skips them: ``Record.key`` and its
    unique index already answer), so a lookup by the key field's path reads ``Record.key``."""
    if path == _key_field(dataset):
        return live_records(dataset).filter(key=str(value)).order_by("pk")
    matches = RecordIdentifier.objects.filter(dataset=dataset, path=path, value=str(value)).values(
        "record_id"
    )
    return live_records(dataset).filter(pk__in=matches).order_by("pk")


def _key_field(dataset: Dataset) -> str | None:
    """The key field of the dataset's current schema (no query when ``schema`` is loaded)."""
    schema = dataset.schema if dataset.schema_id is not None else None
    return None if schema is None else schema.definition.get("key")


def record_get_by_identifier(*, dataset: Dataset, path: str, value: str) -> Record:
    """The live record with ``value`` in identifier field ``path``; the earliest one when the
    identifier is shared by several records. Raises ``NotFound`` when there is none."""
    record = record_list_by_identifier(dataset=dataset, path=path, value=value).first()
    if record is None:
        raise NotFound(_("No record has this identifier."))
    return record


def record_count(dataset: Dataset) -> int:
    """Live (not deleted) records of the dataset."""
    return live_records(dataset).count()


def change_position(*, dataset_id: int) -> int:
    """The sequence number of the dataset's last visible change-log entry (0: none yet)."""
    last = (
        Change.objects.filter(dataset_id=dataset_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return last or 0


def change_list(*, dataset: Dataset, after_seq: int = 0, limit: int = 1000) -> list[Change]:
    """Change entries of ``dataset`` with ``seq > after_seq`` in sequence order. Following the
    log with the last ``seq`` seen never misses an entry (``dagr.records.writer``)."""
    return list(
        Change.objects.filter(dataset=dataset, seq__gt=after_seq).order_by("seq")[: max(limit, 0)]
    )


def load_list(*, dataset: Dataset, limit: int = 50) -> list[Load]:
    return list(Load.objects.filter(dataset=dataset).order_by("-started_at", "-id")[:limit])


# --- the provider API ----------------------------------------------------------------------------


def provider_dataset_get(*, institution_id: int, code: str) -> Dataset:
    """A dataset of the provider institution ``institution_id``; ``NotFound`` for a missing one
    and for another institution's dataset alike."""
    dataset = (
        Dataset.objects.select_related("schema")
        .filter(provider_id=institution_id, code=code)
        .first()
    )
    if dataset is None:
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    return dataset


@dataclass(frozen=True)
class ProviderDataset:
    dataset: Dataset
    records: int
    last_load: Load | None


def provider_dataset_list(*, institution_id: int) -> list[ProviderDataset]:
    """The institution's datasets (every status) with their live record counts and last load,
    in a fixed number of queries."""
    datasets = list(
        Dataset.objects.filter(provider_id=institution_id)
        .select_related("schema")
        .annotate(live=Count("records", filter=Q(records__deleted_at__isnull=True), distinct=False))
        .order_by("code")
    )
    last_ids = (
        Load.objects.filter(dataset=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    )
    ids = [
        pk
        for pk in Dataset.objects.filter(pk__in=[d.pk for d in datasets])
        .annotate(last=Subquery(last_ids))
        .values_list("last", flat=True)
        if pk is not None
    ]
    loads = {load.dataset_id: load for load in Load.objects.filter(pk__in=ids)}
    return [ProviderDataset(d, d.live, loads.get(d.pk)) for d in datasets]


def load_list_for_dataset(*, dataset: Dataset) -> QuerySet[Load]:
    """Every load of the dataset, newest first (a queryset, for paging)."""
    return (
        Load.objects.filter(dataset=dataset)
        .select_related("dataset")
        .order_by("-started_at", "-id")
    )


def live_record_batches(*, dataset_id: int, batch: int = 2000) -> Iterator[list[Row]]:
    """Every live record of a dataset as ``(id, data)``, in id order, ``batch`` at a time: one
    short keyset query per batch (no transaction is held between them, and the dataset is
    never loaded whole). Records changed while this runs are read as they are when their batch
    is read."""
    for rows in live_record_text_batches(dataset_id=dataset_id, batch=batch):
        loads = orjson.loads
        yield [(pk, loads(text)) for pk, text in rows]


def live_record_text_batches(
    *, dataset_id: int, batch: int = 2000
) -> Iterator[list[tuple[int, str]]]:
    """``live_record_batches`` with each record's data as its JSON text (not decoded)."""
    bounds = record_id_bounds(dataset_id)
    if bounds is None:
        return
    after, upto = bounds
    while True:
        rows = record_texts_page(dataset_id=dataset_id, after_id=after, upto_id=upto, limit=batch)
        if not rows:
            return
        yield rows
        after = rows[-1][0]
