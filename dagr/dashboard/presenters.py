"""What the dashboard pages and the stats API show, built from the selectors' results: the
tables (each chart's data, and the CSV download of exactly that table)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dagr.core.tabular import csv_stream

from .selectors import RequestStats, Row

TABLES = {
    "series": gettext_lazy("Requests over time"),
    "datasets": gettext_lazy("Requests per dataset"),
    "recipients": gettext_lazy("Requests per recipient institution"),
    "operations": gettext_lazy("Requests per operation"),
    "outcomes": gettext_lazy("Requests per outcome"),
    "errors": gettext_lazy("Most frequent errors"),
    "latency": gettext_lazy("Response time distribution"),
}


@dataclass
class Table:
    key: str
    title: str
    label_heading: str
    rows: list[Row]
    with_failed: bool = True


def tables(stats: RequestStats) -> dict[str, Table]:
    return {
        "series": Table("series", str(TABLES["series"]), _("Time"), stats.series),
        "datasets": Table("datasets", str(TABLES["datasets"]), _("Dataset"), stats.by_dataset),
        "recipients": Table(
            "recipients", str(TABLES["recipients"]), _("Recipient"), stats.by_recipient
        ),
        "operations": Table(
            "operations", str(TABLES["operations"]), _("Operation"), stats.by_operation
        ),
        "outcomes": Table("outcomes", str(TABLES["outcomes"]), _("Outcome"), stats.by_outcome),
        "errors": Table("errors", str(TABLES["errors"]), _("Error"), stats.errors, False),
        "latency": Table(
            "latency", str(TABLES["latency"]), _("Response time"), stats.latency, False
        ),
    }


def csv_response(table: Table, *, name: str) -> StreamingHttpResponse:
    """The table as a formula-safe CSV download, with the same columns as on the page."""
    columns = [table.label_heading, _("Requests")]
    if table.with_failed:
        columns += [_("Not served"), _("Records served")]

    def rows() -> list[dict[str, object]]:
        out = []
        for r in table.rows:
            row: dict[str, object] = {columns[0]: r.label, columns[1]: r.count}
            if table.with_failed:
                row[columns[2]], row[columns[3]] = r.failed, r.records
            out.append(row)
        return out

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    slug = re.sub(r"[^a-z0-9-]", "", name.lower()) or "stats"
    response = StreamingHttpResponse(
        csv_stream(columns, rows()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="stats-{slug}-{table.key}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
