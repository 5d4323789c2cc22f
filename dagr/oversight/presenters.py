"""Access-audit entries as people and programs read them, shared by the audit API and the portal
pages: institution name and registration number, the calling connection's client id or the
user's label — never a subject hash or an identifier value.

This is the oversight app (the audit's API and portal pages, above the apps it names), so it may
look up institutions (``dagr.accounts``), datasets (``dagr.catalog``) and technical connections
(``dagr.connections``); ``dagr.audit`` itself imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution
from dagr.audit.access_selectors import WhoReadRow
from dagr.audit.models import AccessEntry
from dagr.catalog.models import DATASET_CODE_RE, Dataset
from dagr.connections.models import Connection
from dagr.core.errors import NotFound, ValidationError
from dagr.core.tabular import csv_stream

# A recipient filter that names no institution matches no entry (ids start at 1).
NO_INSTITUTION = -1

CSV_COLUMNS = (
    "time",
    "request_id",
    "institution",
    "institution_registration_number",
    "connection_client_id",
    "user",
    "dataset",
    "permission_number",
    "operation",
    "purpose",
    "identifiers_asked",
    "records_returned",
    "fields",
    "outcome",
    "status",
    "duration_ms",
)


def provider_dataset_ids(*, institution_id: int, code: str | None) -> list[int]:
    """Ids of the datasets of a provider institution, or of its one dataset ``code``.
    A dataset of another provider is ``NotFound``, exactly like a missing one."""
    qs = Dataset.objects.filter(provider_id=institution_id)
    if code is None:
        return list(qs.values_list("pk", flat=True))
    ids = (
        list(qs.filter(code=code).values_list("pk", flat=True))
        if re.fullmatch(DATASET_CODE_RE, code)
        else []
    )
    if not ids:
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    return ids


def recipient_institution_id(value: str | None) -> int | None:
    """A recipient filter: an 11-digit registration number or an institution id. ``None`` for no
    filter; ``NO_INSTITUTION`` when no institution has it (the filter then matches nothing)."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 11:
        raise ValidationError(
            _("The recipient is an 11-digit registration number or an institution id."),
            code="invalid_recipient",
            errors=[{"location": "recipient", "message": str(_("digits only"))}],
        )
    if len(value) == 11:
        found = Institution.objects.filter(registration_number=value).values_list("pk", flat=True)
        return next(iter(found), NO_INSTITUTION)
    return int(value)


@dataclass
class Labels:
    """Names of institutions and client ids of connections, looked up once per batch."""

    institutions: dict[int, Institution] = field(default_factory=dict)
    connections: dict[int, str] = field(default_factory=dict)
    connection_names: dict[int, str] = field(default_factory=dict)

    def load(self, entries: Iterable[Any]) -> None:
        institution_ids = {e.institution_id for e in entries if e.institution_id is not None}
        connection_ids = {
            e.connection_id for e in entries if getattr(e, "connection_id", None) is not None
        }
        missing = institution_ids - set(self.institutions)
        if missing:
            self.institutions.update(Institution.objects.in_bulk(missing))
        missing = connection_ids - set(self.connections)
        if missing:
            for pk, client_id, name in Connection.objects.filter(pk__in=missing).values_list(
                "pk", "client_id", "name"
            ):
                self.connections[pk] = client_id
                self.connection_names[pk] = name

    def institution(self, institution_id: int | None) -> dict[str, Any] | None:
        institution = self.institutions.get(institution_id) if institution_id else None
        if institution is None:
            return None
        return {
            "id": institution.pk,
            "name": institution.name,
            "registration_number": institution.registration_number,
        }


def entry_row(entry: AccessEntry, labels: Labels) -> dict[str, Any]:
    client_id = None
    if entry.connection_id is not None:
        client_id = labels.connections.get(entry.connection_id) or entry.actor_label or None
    return {
        "at": entry.at,
        "request_id": entry.request_id,
        "institution": labels.institution(entry.institution_id),
        "connection_client_id": client_id,
        "connection_name": labels.connection_names.get(entry.connection_id)
        if entry.connection_id is not None
        else None,
        "user_label": (entry.actor_label or None) if entry.connection_id is None else None,
        "dataset": entry.dataset_code,
        "permission_number": entry.permission_number,
        "operation": entry.operation,
        "purpose": entry.purpose,
        "identifiers_asked": entry.identifiers_asked,
        "records_returned": entry.records_returned,
        "fields": list(entry.fields or []),
        "outcome": entry.outcome,
        "outcome_label": entry.get_outcome_display(),
        "status": entry.status_code,
        "duration_ms": entry.duration_ms,
    }


def entry_rows(entries: list[AccessEntry], labels: Labels | None = None) -> list[dict[str, Any]]:
    labels = labels or Labels()
    labels.load(entries)
    return [entry_row(e, labels) for e in entries]


def summary_rows(rows: list[WhoReadRow]) -> list[dict[str, Any]]:
    labels = Labels()
    labels.load(rows)
    return [
        {
            "institution": labels.institution(row.institution_id),
            "dataset": row.dataset_code,
            "operation": row.operation,
            "accesses": row.accesses,
            "served": row.served,
            "records_returned": row.records_returned,
            "first_at": row.first_at,
            "last_at": row.last_at,
        }
        for row in rows
    ]


def _csv_records(entries: Iterable[AccessEntry]) -> Iterator[dict[str, Any]]:
    labels, batch = Labels(), []
    for entry in entries:
        batch.append(entry)
        if len(batch) == 500:
            yield from _csv_batch(batch, labels)
            batch = []
    yield from _csv_batch(batch, labels)


def _csv_batch(batch: list[AccessEntry], labels: Labels) -> Iterator[dict[str, Any]]:
    for row in entry_rows(batch, labels):
        institution = row["institution"] or {}
        yield {
            **row,
            "time": timezone.localtime(row["at"]).isoformat(timespec="milliseconds"),
            "institution": institution.get("name", ""),
            "institution_registration_number": institution.get("registration_number", ""),
            "user": row["user_label"],
            "fields": " ".join(row["fields"]),
        }


def csv_response(entries: Iterable[AccessEntry], *, name: str) -> StreamingHttpResponse:
    """The entries as a streamed, formula-safe CSV download."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = re.sub(r"[^a-z0-9-]", "", name.lower()) or "audit"
    response = StreamingHttpResponse(
        csv_stream(CSV_COLUMNS, _csv_records(entries)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{filename}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
