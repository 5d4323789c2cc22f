"""The export operation (``records_export``): everything the grant allows as CSV or NDJSON,
streamed. Its audit entries are written page by page, each committed before the page's records
are produced; the last chunk is held back until the closing entry is committed, so a failed
audit write cuts the download short instead of completing it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit import access as audit
from dagr.catalog.schema import extract_identifiers
from dagr.core.errors import DomainError
from dagr.core.tabular import csv_stream, ndjson_stream
from dagr.grants.cache import ActiveGrant
from dagr.grants.fields import project_fields
from dagr.grants.services import grant_use_register
from dagr.records import queries

from .access import EXPORT_BATCH, EXPORT_FORMATS, Caller, _Access, _invalid, subject_paths
from .datasets import DatasetInfo


@dataclass
class Export:
    """A streamed export: iterate ``chunks`` exactly once (the audit entry is written at its
    end)."""

    format: str
    content_type: str
    filename: str
    chunks: Iterator[str | bytes]
    columns: list[str]


def export_columns(dataset: DatasetInfo, grant: ActiveGrant) -> list[str]:
    """The top-level granted fields in schema order (lists become one JSON cell in CSV)."""
    return [f.name for f in dataset.schema.fields if f.name in grant.tree]


def records_export(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    format: str = "csv",
    purpose: str = "",
) -> Export:
    """Everything the grant allows as CSV (formula-safe) or NDJSON, streamed in record id
    order. Refusals raise before the stream starts (audited as usual); each page of the export
    gets its own audit entry, committed before the page's records are produced."""
    access = _Access(caller, "record.export", dataset_code, permission_number, purpose)
    try:
        dataset, grant = access.resolve()
        if format not in EXPORT_FORMATS:
            raise _invalid(
                _("The format is one of: %(formats)s.") % {"formats": ", ".join(EXPORT_FORMATS)},
                "invalid_format",
                "format",
            )
        today = access.today
        where, params = grant.where(column=queries.DATA_COLUMN, today=today)
        grant_use_register(grant_id=grant.id, quota=grant.quota, today=today)
    except DomainError as exc:
        access.refused(exc)
        raise
    columns = export_columns(dataset, grant)
    paths = subject_paths(dataset, grant)
    state = {"count": 0}

    def rows() -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = queries.records_page(
                dataset_id=dataset.id, after_id=after, limit=EXPORT_BATCH, where=where,
                params=params,
            )  # fmt: skip
            if page:
                # Each page is audited (and committed) before any of its records is produced,
                # so no record leaves without its audit entry, however long the export.
                subjects = {
                    v
                    for _pk, data in page
                    for p, v in extract_identifiers(dataset.schema, data)
                    if p in paths
                }
                access.write_part(count=len(page), subjects=subjects)
            for pk, data in page:
                after = pk
                state["count"] += 1
                yield project_fields(data, grant.tree)
            if len(page) < EXPORT_BATCH:
                return

    body: Iterator[Any] = csv_stream(columns, rows()) if format == "csv" else ndjson_stream(rows())

    def chunks() -> Iterator[Any]:
        try:
            yield from body
        except (Exception, GeneratorExit):
            # The stream broke off (database or audit error, client gone): an entry says so.
            with contextlib.suppress(audit.AuditUnavailable):
                access.write_part(count=0, subjects=(), outcome="error", status_code=500)
            raise
        if state["count"] == 0:
            access.write(outcome="ok", status_code=200, count=0)

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Export(
        format=format,
        content_type="text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson",
        filename=f"{dataset.code}-{stamp}.{format}",
        chunks=chunks(),
        columns=columns,
    )
