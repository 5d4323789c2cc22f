"""Reading the data-access audit: a provider's "who used my data" and an administrator's "who
read this person's data". The same selectors serve the API, the portal and (later) the audit
dashboard.

This module imports no other DAGR app: callers pass plain ids (the datasets the actor may read,
a recipient institution id) after deciding permission in ``dagr.permissions.rules``. Identifier
values are never stored or returned: they are turned into the keyed ``subject_hash`` and looked
up in ``AccessSubject`` and the entries not yet indexed (``dagr.audit.subjects``).

Pages are keyset-paginated newest first (``at`` desc, ``id`` desc) with an opaque cursor, so a
page never repeats or skips an entry even while new entries are written.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.core import identifiers
from dagr.core.errors import ValidationError

from .access import subject_hash
from .models import AccessEntry
from .subjects import entries_with_subject

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_IDENTIFIER_LENGTH = 100
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class InvalidCursor(ValidationError):
    code = "invalid_cursor"


@dataclass(frozen=True)
class AccessPage:
    entries: list[AccessEntry]
    next_cursor: str | None


@dataclass(frozen=True)
class WhoReadRow:
    """One line of the "who read" summary: an institution's accesses to one dataset with one
    operation."""

    institution_id: int | None
    dataset_id: int | None
    dataset_code: str
    operation: str
    accesses: int
    served: int
    records_returned: int
    first_at: datetime
    last_at: datetime


# --- inputs -------------------------------------------------------------------------------------


def cursor_encode(entry: AccessEntry) -> str:
    raw = orjson.dumps([entry.at.astimezone(UTC).isoformat(timespec="microseconds"), entry.pk])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    """``(at, id)`` of the last entry of the previous page; ``InvalidCursor`` for anything that
    this module did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, pk = orjson.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not EARLIEST <= at < LATEST:
            raise ValueError(cursor)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidCursor(
            _("The page cursor is not valid. Start again from the first page."),
            errors=[{"location": "cursor", "message": str(_("not a cursor from this API"))}],
        ) from None
    return at, pk


def period_bound(value: datetime | None, *, name: str) -> datetime | None:
    """An aware datetime in a range every database can store (naive values are local time)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValidationError(
            _("The period must lie between the years 1970 and 8999."),
            code="invalid_period",
            errors=[{"location": name, "message": str(_("out of range"))}],
        )
    return utc


def identifier_hash(identifier: str) -> bytes:
    """The keyed hash of an identifier value as the audit stores it (``120389-11236`` and
    ``12038911236`` give the same hash); ``ValidationError`` for an empty or overlong value."""
    value = identifiers.subject_form(identifier or "")
    if not value or len(value) > MAX_IDENTIFIER_LENGTH:
        raise ValidationError(
            _("Enter the identifier (for example a personal code), at most 100 characters."),
            code="invalid_identifier",
            errors=[{"location": "identifier", "message": str(_("empty or too long"))}],
        )
    return subject_hash(value)


# --- selectors ----------------------------------------------------------------------------------


def access_entry_queryset(
    *,
    dataset_ids: Iterable[int] | None,
    since: datetime | None = None,
    until: datetime | None = None,
    recipient_institution_id: int | None = None,
    identifier: str = "",
    operation: str = "",
    outcome: str = "",
) -> QuerySet[AccessEntry]:
    """Entries newest first. ``dataset_ids=None`` means every dataset (administrators only; the
    caller decides); ``since`` is inclusive, ``until`` exclusive. The packed subject hashes are
    not loaded (16 bytes per identifier: ~16 KB for a batch lookup's entry)."""
    qs = AccessEntry.objects.defer("subject_hashes")
    if dataset_ids is not None:
        qs = qs.filter(dataset_id__in=list(dataset_ids))
    since, until = period_bound(since, name="since"), period_bound(until, name="until")
    if since is not None:
        qs = qs.filter(at__gte=since)
    if until is not None:
        qs = qs.filter(at__lt=until)
    if recipient_institution_id is not None:
        qs = qs.filter(institution_id=recipient_institution_id)
    if identifier:
        hashed = identifier_hash(identifier)
        qs = qs.filter(entries_with_subject(hashed))
    if operation:
        qs = qs.filter(operation=operation)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return qs.order_by("-at", "-id")


def _after(qs: QuerySet[AccessEntry], cursor: str) -> QuerySet[AccessEntry]:
    at, pk = cursor_decode(cursor)
    return qs.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))


def access_entries(
    *,
    dataset_ids: Iterable[int] | None,
    since: datetime | None = None,
    until: datetime | None = None,
    recipient_institution_id: int | None = None,
    identifier: str = "",
    operation: str = "",
    outcome: str = "",
    cursor: str = "",
    limit: int = DEFAULT_LIMIT,
) -> AccessPage:
    """One page of entries (newest first) and the cursor of the next page (``None`` on the
    last page)."""
    limit = max(1, min(limit, MAX_LIMIT))
    qs = access_entry_queryset(
        dataset_ids=dataset_ids,
        since=since,
        until=until,
        recipient_institution_id=recipient_institution_id,
        identifier=identifier,
        operation=operation,
        outcome=outcome,
    )
    if cursor:
        qs = _after(qs, cursor)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return AccessPage(entries=rows, next_cursor=cursor_encode(rows[-1]) if more else None)


def access_entries_iter(
    *, cursor: str = "", chunk_size: int = 1000, **filters: Any
) -> Iterator[AccessEntry]:
    """Every entry matching ``filters`` (newest first, from ``cursor``), fetched page by page by
    keyset — constant memory and no long-running server-side cursor (for CSV exports). The
    filters and the cursor are checked now, so a bad one fails before the first byte is sent."""
    access_entry_queryset(**filters)
    if cursor:
        cursor_decode(cursor)
    return _pages(cursor=cursor, chunk_size=chunk_size, **filters)


def _pages(*, cursor: str, chunk_size: int, **filters: Any) -> Iterator[AccessEntry]:
    while True:
        page = access_entries(cursor=cursor, limit=chunk_size, **filters)
        yield from page.entries
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def who_read_summary(
    value: str, *, since: datetime | None = None, until: datetime | None = None
) -> list[WhoReadRow]:
    """Who asked for, or received, records with this identifier value: one row per institution,
    dataset and operation, with the number of accesses, how many were served, the records
    returned and the first and last time. Most recent first."""
    qs = access_entry_queryset(dataset_ids=None, since=since, until=until, identifier=value)
    grouped = (
        qs.order_by()
        .values("institution_id", "dataset_id", "dataset_code", "operation")
        .annotate(
            accesses=Count("id"),
            served=Count("id", filter=Q(outcome=AccessEntry.Outcome.OK)),
            records=Sum("records_returned"),
            first_at=Min("at"),
            last_at=Max("at"),
        )
        .order_by("-last_at", "dataset_code", "operation")
    )
    return [
        WhoReadRow(
            institution_id=row["institution_id"],
            dataset_id=row["dataset_id"],
            dataset_code=row["dataset_code"],
            operation=row["operation"],
            accesses=row["accesses"],
            served=row["served"],
            records_returned=row["records"] or 0,
            first_at=row["first_at"],
            last_at=row["last_at"],
        )
        for row in grouped
    ]


# Requests answered under a grant (served, or answered "not found"): what a daily quota counts.
ANSWERED = (AccessEntry.Outcome.OK, AccessEntry.Outcome.NOT_FOUND)


def grant_use_counts(grant_ids: list[int], *, since: datetime) -> dict[int, tuple[int, int]]:
    """``{grant id: (requests answered in total, since ``since``)}`` — use counts
    come from the access audit, the one record of every access, so the request path writes no
    counter row (only grants with a daily quota keep one, to enforce it)."""
    rows = (
        AccessEntry.objects.filter(grant_id__in=grant_ids, outcome__in=ANSWERED)
        .order_by()
        .values("grant_id")
        .annotate(total=Count("id"), recent=Count("id", filter=Q(at__gte=since)))
    )
    return {g: (row["total"], row["recent"]) for row in rows if (g := row["grant_id"]) is not None}
