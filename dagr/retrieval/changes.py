"""The change feed as a grant (and optionally a record set) sees it — the engine, without audit
(``feed.records_changes`` resolves the grant, audits and serves it).

Each change-log entry of the dataset is judged by the record's state just before it and just
after it (``docs/change-feed.md``):

=================  ==================  =============================================
visible before     visible after       the recipient sees
=================  ==================  =============================================
no                 yes                 ``created`` (new, or entered the conditions)
yes                yes                 ``updated`` (omitted if no granted field changed)
yes                no                  ``deleted`` (deleted, or left the conditions)
no                 no                  nothing
=================  ==================  =============================================

"Visible" is the grant's condition (the one condition engine's Python predicate, the same one
single-record reads use) AND the record set's membership when one is given. The states come
from the change log joined to the record (its current version) and to the superseded versions
(``RecordVersion``): a ``created`` or ``updated`` entry's state after is the data of the version
it made, an ``updated`` entry's state before is the version it superseded, and a ``deleted``
entry's state before is the data the record had when it was deleted (deletion keeps the data).

Order and completeness come from the change log: a dataset's sequence numbers become visible in
order (loads of one dataset are serialised by the per-dataset lock), so reading ``seq > cursor``
in order never skips an entry. The cursor carries a digest of the grant's fields and conditions
and of the record set's definition; a cursor issued under other terms is refused
(``cursor_outdated``), because applying the rest of the log would leave the recipient's copy
inconsistent with what the terms now show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from django.utils.translation import gettext_lazy as _

from dagr.core import cursors
from dagr.core.errors import Conflict
from dagr.grants.cache import ActiveGrant
from dagr.grants.conditions import conditions_as_json
from dagr.grants.fields import project_fields
from dagr.records import queries
from dagr.records.models import Load
from dagr.records.queries import _data

Member = Callable[[dict[str, Any]], bool]

CURSOR_PREFIX = "c1"
FETCH_CHUNK = 5000


@dataclass
class ChangesPage:
    changes: list[dict[str, Any]]
    next_cursor: str
    has_more: bool
    # The full data of the records returned (for the audit's subject hashes) and the keys of
    # the records reported as deleted; not sent to the caller.
    returned: list[dict[str, Any]] = field(default_factory=list, repr=False)
    removed_keys: list[str] = field(default_factory=list, repr=False)


class CursorOutdated(Conflict):
    code = "cursor_outdated"
    title = _("The cursor belongs to earlier access terms")


def terms_digest(grant: ActiveGrant, terms: str = "") -> str:
    """A short digest of what decides the feed's content: the granted fields, the conditions
    and the record set's definition (``terms``)."""
    document = orjson.dumps(
        [list(grant.fields), conditions_as_json(grant.conditions), terms],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(document, digest_size=6).hexdigest()


def cursor_encode(seq: int, digest: str) -> str:
    return cursors.cursor_encode(CURSOR_PREFIX, seq, digest)


def cursor_decode(cursor: str | None, digest: str) -> int:
    """The sequence number after which to continue (0: from the beginning). Raises
    ``invalid_cursor`` for a malformed cursor, ``cursor_outdated`` for one issued under other
    terms."""
    if not cursor:
        return 0
    seq, issued_under = cursors.cursor_decode(cursor, CURSOR_PREFIX, 2)
    if not seq.isdigit() or len(seq) > 18:
        raise cursors.invalid_cursor()
    if issued_under != digest:
        raise CursorOutdated(
            _(
                "The access terms (granted fields or conditions, or the record set) changed "
                "after this cursor was issued. Start again without a cursor to load the data "
                "as the terms now show it."
            )
        )
    return int(seq)


def _iso(value: Any) -> str:
    """The change time as ISO 8601 UTC (``Z``): PostgreSQL gives an aware datetime, SQLite the
    stored text (UTC)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value).replace(" ", "T")
    return text if text.endswith("Z") or "+" in text[10:] else f"{text}Z"


def changes_read(
    *,
    dataset_id: int,
    grant: ActiveGrant,
    after: int,
    limit: int,
    today: date,
    digest: str,
    member: Member | None = None,
    member_on: Callable[[date], Member] | None = None,
    scan_limit: int | None = None,
) -> ChangesPage:
    """Up to ``limit`` changes visible under ``grant`` (and ``member``) after sequence number
    ``after``, examining at most ``scan_limit`` change-log entries (default ``2 × limit``).
    ``member_on(day)`` gives the membership test as of another day (a record set's own
    relative-date conditions), for the earlier state of re-checked records."""
    condition = grant.predicate(today=today)
    tree = grant.tree
    earlier: dict[int, Member] = {}  # load id of a re-check → "visible" as of its "since" day

    def visible_before_recheck(load_id: int) -> Member:
        if load_id not in earlier:
            details = (
                Load.objects.filter(pk=load_id).values_list("details", flat=True).first() or {}
            )
            since = details.get("since")
            day = date.fromisoformat(since) if since else today
            then = grant.predicate(today=day)
            then_member = member_on(day) if member_on is not None else member

            def visible_then(data: dict[str, Any]) -> bool:
                return then(data) and (then_member is None or then_member(data))

            earlier[load_id] = visible_then
        return earlier[load_id]

    scan_limit = max(scan_limit or 2 * limit, limit)

    def visible(data: dict[str, Any] | None) -> bool:
        if data is None or not condition(data):
            return False
        return member is None or member(data)

    page = ChangesPage(changes=[], next_cursor="", has_more=True)
    position, scanned, exhausted = after, 0, False
    while True:
        want = min(FETCH_CHUNK, scan_limit - scanned)
        rows = queries.changes_after(dataset_id=dataset_id, after=position, limit=want)
        full = unread = False
        for index, (seq, key, operation, at, load_id, data, previous) in enumerate(rows):
            scanned += 1
            position = seq
            after_state = None if operation == "deleted" else _data(data)
            if operation == "rechecked":
                # Same data; the day moved it across a relative-date condition: "before" is
                # judged as of the re-check's starting day, "after" as of today.
                before_state = after_state
                was = before_state is not None and visible_before_recheck(load_id)(before_state)
                now = visible(after_state)
            else:
                if operation == "updated":
                    before_state = _data(previous) if previous is not None else None
                elif operation == "deleted":
                    before_state = _data(data)
                else:  # created (a new record, or a deleted one that came back)
                    before_state = None
                was, now = visible(before_state), visible(after_state)
            if now:
                assert after_state is not None
                shown = project_fields(after_state, tree)
                if was:
                    assert before_state is not None
                    if project_fields(before_state, tree) == shown:
                        continue  # no granted field changed
                    kind = "updated"
                else:
                    kind = "created"
                page.returned.append(after_state)
            elif was:
                kind, shown = "deleted", None
                page.removed_keys.append(key)
            else:
                continue
            page.changes.append(
                {"id": seq, "operation": kind, "key": key, "at": _iso(at), "record": shown}
            )
            if len(page.changes) >= limit:
                full, unread = True, index < len(rows) - 1
                break
        if len(rows) < want and not unread:
            exhausted = True  # every entry of the log so far has been read
            break
        if full or scanned >= scan_limit:
            break
    page.has_more = not exhausted
    page.next_cursor = cursor_encode(position, digest)
    return page
