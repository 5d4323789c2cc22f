"""The change-feed operation (``records_changes``): resolves the grant, audits the page and
serves it; the engine that judges each change-log entry is ``changes``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db import transaction

from dagr.core.errors import DomainError
from dagr.grants.services import grant_use_register

from . import changes
from .access import DEFAULT_CHANGES, MAX_CHANGES, Caller, _Access, _check_limit


def records_changes(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    purpose: str = "",
    cursor: str | None = None,
    limit: int = DEFAULT_CHANGES,
    member: changes.Member | None = None,
    member_on: Callable[[date], changes.Member] | None = None,
    terms: str = "",
    operation: str = "record.changes",
    scan_limit: int | None = None,
    events: Callable[[int, int], list[changes.FeedEvent]] | None = None,
    first_event: int = 0,
) -> changes.ChangesPage:
    """One page of the dataset's change feed as the grant (and ``member``, a record set's
    membership test) shows it, after ``cursor`` (from the beginning without one): see
    ``dagr.retrieval.changes``. ``terms`` describes the record set's definition and goes into
    the cursor's digest; ``events`` its membership events (``changes.changes_read``), those up
    to ``first_event`` skipped when reading from the beginning. One audit entry per page
    (identifiers of the returned records and the keys reported deleted), committed before the
    page is returned."""
    access = _Access(caller, operation, dataset_code, permission_number, purpose)
    try:
        dataset, grant = access.resolve()
        _check_limit(limit, MAX_CHANGES)
        digest = changes.terms_digest(grant, terms)
        after, after_event = changes.cursor_position(cursor, digest, dataset.id)
        if not cursor:
            after_event = first_event  # the replay from the beginning already shows them
        today = access.today

        def read() -> changes.ChangesPage:
            page = changes.changes_read(
                dataset_id=dataset.id,
                grant=grant,
                after=after,
                limit=limit,
                today=today,
                digest=digest,
                member=member,
                member_on=member_on,
                scan_limit=scan_limit,
                events=events,
                after_event=after_event,
            )
            access.write(
                outcome="ok",
                status_code=200,
                records=page.returned,
                count=len(page.changes),
                subjects=page.removed_keys,
            )
            return page

        if grant.quota is None:
            page = read()
        else:
            with transaction.atomic():
                grant_use_register(grant_id=grant.id, quota=grant.quota, today=today)
                page = read()
    except DomainError as exc:
        access.refused(exc)
        raise
    return page
