from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.catalog.selectors import dataset_get_visible
from dagr.core.actors import Actor
from dagr.core.errors import NotFound
from dagr.permissions import rules
from dagr.records.models import Record

from .models import UploadedFile


def dataset_for_loading(*, actor: Actor, code: str) -> Dataset:
    """A dataset whose data the actor may load and download. Any other dataset — missing,
    hidden, or public but another institution's — is the same 404."""
    dataset = dataset_get_visible(actor=actor, code=code)
    if not rules.can_edit_dataset(actor, dataset):
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    return dataset


def upload_list(*, dataset: Dataset) -> QuerySet[UploadedFile]:
    return UploadedFile.objects.filter(dataset=dataset).select_related("uploaded_by", "load")


def upload_get_for(*, actor: Actor, pk: int) -> UploadedFile:
    upload = UploadedFile.objects.select_related("dataset", "dataset__schema", "load").filter(pk=pk)
    found = upload.first()
    if found is None or not rules.can_edit_dataset(actor, found.dataset):
        raise NotFound(_("No such uploaded file."), code="upload_not_found")
    return found


def preview_table(*, upload: UploadedFile) -> list[tuple[int, list[str]]]:
    """The preview's first records as table rows ``(row number, cells in schema order)``: empty
    for a missing value, lists as JSON text (as the downloads write them)."""
    columns = upload.preview.get("columns", [])
    table = []
    for item in upload.preview.get("first_rows", []):
        data = item.get("data", {})
        table.append((item.get("row", 0), [_cell(data.get(c)) for c in columns]))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def current_records(*, dataset: Dataset) -> Iterator[dict[str, Any]]:
    """The dataset's live records (their data), streamed in a stable order."""
    return (
        Record.objects.filter(dataset=dataset, deleted_at=None)
        .order_by("id")
        .values_list("data", flat=True)
        .iterator(chunk_size=2000)
    )


def current_record_count(*, dataset: Dataset) -> int:
    return Record.objects.filter(dataset=dataset, deleted_at=None).count()
