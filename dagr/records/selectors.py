"""Reading the record store. These selectors answer for the platform itself (loading, the
catalogue, the demo); the recipient-facing retrieval narrows them through ``dagr.grants``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.core.errors import NotFound

from .models import Change, Load, Record, RecordIdentifier


def live_records(dataset: Dataset) -> QuerySet[Record]:
    return Record.objects.filter(dataset=dataset, deleted_at__isnull=True)


def record_list_by_identifier(*, dataset: Dataset, path: str, value: str) -> QuerySet[Record]:
    """Live records having ``value`` in identifier field ``path`` (``board_members.personal_code``
    for nested lists). Several records may share a non-key identifier; ordered by id."""
    matches = RecordIdentifier.objects.filter(dataset=dataset, path=path, value=str(value)).values(
        "record_id"
    )
    return live_records(dataset).filter(pk__in=matches).order_by("pk")


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


def change_list(*, dataset: Dataset, after_seq: int = 0, limit: int = 1000) -> list[Change]:
    """Change entries of ``dataset`` with ``seq > after_seq`` in sequence order. Following the
    log with the last ``seq`` seen never misses an entry (``dagr.records.services``)."""
    return list(
        Change.objects.filter(dataset=dataset, seq__gt=after_seq).order_by("seq")[: max(limit, 0)]
    )


def load_list(*, dataset: Dataset, limit: int = 50) -> list[Load]:
    return list(Load.objects.filter(dataset=dataset).order_by("-started_at", "-id")[:limit])
