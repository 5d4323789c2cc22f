"""The data-access audit: writing entries (tamper-evident chains), verifying them, and finding
who read a given person's data.

Writing: ``access_entry_write`` commits the entry (with its subjects, packed in its own row)
and the segment head in one transaction and raises ``AuditUnavailable`` if that fails — callers
must then not serve the data. Each process writes its own chain segment, so web processes never
wait for each other's audit lock; on SQLite writers are serialised by the database anyway.

Subjects: identifier values are stored as HMAC-SHA256 under ``settings.AUDIT_SUBJECT_KEY``
(compacted: spaces and hyphens removed, upper-cased), so the audit table holds no plain personal
code. The entry's row holds its sorted subject hashes (``subject_hashes``); the index that
answers "who read person X" (``AccessSubject``) is filled from it after commit, in bulk, by
``dagr.audit.subjects`` — a request never inserts into that randomly keyed index.
"""

from __future__ import annotations

import operator
import os
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.core import identifiers
from dagr.core.db.prepared import fetch_prepared
from dagr.core.errors import DomainError

from .integrity import (
    ACCESS_COLUMNS,
    GENESIS,
    VERSION,
    VerifyReport,
    access_digest,
    at_text,
    audit_verify,
    keyed_setting,
)
from .models import AccessEntry, AccessSegment
from .subjects import SUBJECT_BYTES, entries_with_subject, pack

__all__ = [
    "AuditUnavailable",
    "VerifyReport",
    "access_entries_write_bulk",
    "access_entry_record",
    "access_entry_write",
    "audit_verify",
    "who_read",
]


# Sent (with ``operation``) when an access entry could not be written, before ``AuditUnavailable``
# is raised: operators' metrics count it (``dagr.dashboard.metrics``).
access_write_failed = Signal()


class AuditUnavailable(DomainError):
    code = "audit_unavailable"
    status = 503
    title = _("The access could not be recorded, so no data was served. Please retry.")


def subject_hash(value: str) -> bytes:
    """The keyed hash under which an identifier value is recorded: the first 16 bytes of
    HMAC-SHA256 over the value without spaces and hyphens, upper-cased
    (``identifiers.subject_form``)."""
    normalised = identifiers.subject_form(value)
    state = keyed_setting("AUDIT_SUBJECT_KEY").copy()
    state.update(normalised.encode())
    return state.digest()[:SUBJECT_BYTES]


def subject_hashes(values: Iterable[str | None]) -> list[bytes]:
    """The sorted distinct ``subject_hash`` of ``values`` (None and "" left out) — one for a
    GET, ~2,000 for a batch lookup: the HMAC's keyed state is prepared once per key (``keyed``)
    and copied per distinct subject form."""
    forms = {identifiers.subject_form(v) for v in set(values) if v not in (None, "")}
    base = keyed_setting("AUDIT_SUBJECT_KEY")
    out = []
    for form in forms:
        state = base.copy()
        state.update(form.encode())
        out.append(state.digest()[:SUBJECT_BYTES])
    out.sort()
    return out


@dataclass
class _Segment:
    pid: int
    name: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The head this process last wrote (seq, hash): only a guess, checked by the database
    # (compare-and-set) before it is used — see ``_insert_checked``.
    head: tuple[int, str] | None = None


_segment: _Segment | None = None
_segment_guard = threading.Lock()


def _current_segment() -> _Segment:
    """One segment per process (a forked child starts its own)."""
    global _segment
    pid = os.getpid()
    segment = _segment
    if segment is not None and segment.pid == pid:  # every request but a process's first
        return segment
    with _segment_guard:
        if _segment is None or _segment.pid != pid:
            _segment = _Segment(pid=pid, name=f"{uuid.uuid4().hex[:16]}-{pid}")
        return _segment


def access_entry_write(
    *,
    operation: str,
    outcome: str,
    dataset_id: int | None = None,
    dataset_code: str = "",
    institution_id: int | None = None,
    connection_id: int | None = None,
    user_id: int | None = None,
    actor_label: str = "",
    grant_id: int | None = None,
    permission_number: str = "",
    purpose: str = "",
    identifiers: Iterable[str] = (),
    records_returned: int = 0,
    fields: list[str] | None = None,
    status_code: int = 200,
    duration_ms: float = 0.0,
    request_id: str = "",
    at: datetime | None = None,
) -> AccessEntry:
    # Distinct values first: a batch names most identifiers twice (asked for, and in the record).
    values, subjects = _entry_values(
        operation=operation, outcome=outcome, at=at or timezone.now(), dataset_id=dataset_id,
        dataset_code=dataset_code, institution_id=institution_id, connection_id=connection_id,
        user_id=user_id, actor_label=actor_label, grant_id=grant_id,
        permission_number=permission_number, purpose=purpose, identifiers=identifiers,
        records_returned=records_returned, fields=fields, status_code=status_code,
        duration_ms=duration_ms, request_id=request_id,
    )  # fmt: skip
    entry_id, prev_hash, entry_hash = _write(values, subjects, operation)
    return AccessEntry(
        id=entry_id,
        prev_hash=prev_hash,
        entry_hash=entry_hash,
        subject_hashes=pack(subjects),
        **values,
    )


def access_entry_record(*, at: datetime | None = None, **kwargs: Any) -> None:
    """``access_entry_write`` for callers that need nothing back (the data API): the same
    entry, committed the same way, without building a model instance (~20 µs per request)."""
    values, subjects = _entry_values(at=at or timezone.now(), **kwargs)
    _write(values, subjects, kwargs["operation"])


Written = tuple[int, str, str]  # entry id, previous digest, its digest


def _write(values: dict[str, Any], subjects: list[bytes], operation: str) -> Written:
    segment = _current_segment()
    # The default connection itself, once: each attribute read through the ``connection`` proxy
    # costs a thread-local look-up (measured ~5 % of a data GET's CPU across the audit write).
    db = connections[DEFAULT_DB_ALIAS]
    with segment.lock:
        try:
            written = None
            if segment.head is not None:
                if db.vendor == "postgresql":
                    written = _insert_checked(db, segment, values, subjects)
                elif db.vendor == "sqlite" and not db.in_atomic_block:
                    written = _insert_checked_sqlite(db, segment, values, subjects)
            if written is None:
                written = _insert(segment.name, values, subjects)
        except DatabaseError as exc:
            segment.head = None
            access_write_failed.send(sender=AccessEntry, operation=operation)
            raise AuditUnavailable() from exc
        segment.head = (values["segment_seq"], written[2])
    return written


_ENTRY_COLUMNS = (*ACCESS_COLUMNS, "prev_hash", "entry_hash", "subject_hashes")
# The values of ``ACCESS_COLUMNS`` in one C call (this runs once per data request).
_access_values = operator.itemgetter(*ACCESS_COLUMNS)
_FIELDS = ACCESS_COLUMNS.index("fields")


def _entry_params(
    values: dict[str, Any],
    last_seq: int,
    last_hash: str,
    segment: str,
    subjects: list[bytes],
    db: BaseDatabaseWrapper = connection,
) -> tuple[str, list[Any]]:
    """The new entry's digest (keyed, over every column and its subjects) and SQL parameters
    (in ``_ENTRY_COLUMNS`` order)."""
    values["segment"] = segment
    values["segment_seq"] = last_seq + 1
    params = list(_access_values(values))
    at = params[0]
    params[0] = at_text(at)  # the digest's form of the time, then the database's
    packed = pack(subjects)
    entry_hash = access_digest(keyed_setting("AUDIT_CHAIN_KEY"), last_hash, params, [packed])
    params[0] = db.ops.adapt_datetimefield_value(at)
    params[_FIELDS] = orjson.dumps(params[_FIELDS]).decode()
    params += (last_hash, entry_hash, packed)
    return entry_hash, params


def _insert_checked(
    db: BaseDatabaseWrapper, segment: _Segment, values: dict[str, Any], subjects: list[bytes]
) -> Written | None:
    """PostgreSQL, one statement (one round trip; in autocommit mode its own transaction): move
    the segment head from the head this process last wrote to the new entry — only if the
    database still holds that head (compare-and-set) — and insert the entry (its subjects packed
    in its row). ``None`` when the head differs (another transaction rolled back, the table was
    emptied…): the caller then takes the general path, which reads the head from the database."""
    assert segment.head is not None
    last_seq, last_hash = segment.head
    entry_hash, params = _entry_params(values, last_seq, last_hash, segment.name, subjects, db)
    entries = AccessEntry._meta.db_table
    heads = AccessSegment._meta.db_table
    placeholders = ", ".join("%s::jsonb" if c == "fields" else "%s" for c in _ENTRY_COLUMNS)
    # A prepared statement with server-side parameters (``dagr.core.db.prepared``): its text is
    # the same for every entry.
    rows = fetch_prepared(
        db,
        f"WITH h AS (UPDATE {heads} SET last_seq = %s, last_hash = %s "  # noqa: S608
        "WHERE segment = %s AND last_seq = %s AND last_hash = %s RETURNING 1), "
        f"e AS (INSERT INTO {entries} ({', '.join(_ENTRY_COLUMNS)}) "
        f"SELECT {placeholders} FROM h RETURNING id) "
        "SELECT id FROM e",
        [last_seq + 1, entry_hash, segment.name, last_seq, last_hash, *params],
    )
    if not rows:
        return None
    return rows[0][0], last_hash, entry_hash


_SQLITE_INSERT = "INSERT INTO {entries} ({columns}) VALUES ({marks}) RETURNING id".format(  # noqa: S608
    entries=AccessEntry._meta.db_table, columns=", ".join(_ENTRY_COLUMNS),
    marks=", ".join("?" for _ in _ENTRY_COLUMNS),
)  # fmt: skip
_SQLITE_HEAD_MOVE = (
    f"UPDATE {AccessSegment._meta.db_table} SET last_seq = ?, last_hash = ? "  # noqa: S608
    "WHERE segment = ? AND last_seq = ? AND last_hash = ?"
)


def _insert_checked_sqlite(
    db: BaseDatabaseWrapper, segment: _Segment, values: dict[str, Any], subjects: list[bytes]
) -> Written | None:
    """SQLite outside any transaction of the caller (the hot path): the same rows as
    ``_insert`` in one ``BEGIN IMMEDIATE`` … ``COMMIT`` under the backend's writer lock, written
    through the driver's own connection (Django's cursor wrapper rewrites every statement's
    placeholders and wraps each call — measured a third of the audit's cost). The head this
    process last wrote is only a guess: the head row is moved by a compare-and-set ``UPDATE``;
    if it matched no row (another transaction rolled back, the table was emptied…) everything
    is rolled back and ``None`` sends the caller to ``_insert``, which reads the head."""
    assert segment.head is not None
    last_seq, last_hash = segment.head
    entry_hash, params = _entry_params(values, last_seq, last_hash, segment.name, subjects, db)
    db.ensure_connection()
    raw = db.connection
    lock = db._lock()  # type: ignore[attr-defined]  # dagr.core.db.sqlite's writer lock
    if lock is not None:
        lock.acquire()
    try:
        with db.wrap_database_errors:
            raw.execute("BEGIN IMMEDIATE")
            try:
                moved = raw.execute(
                    _SQLITE_HEAD_MOVE, (last_seq + 1, entry_hash, segment.name, last_seq, last_hash)
                ).rowcount
                if moved != 1:
                    raw.execute("ROLLBACK")
                    return None
                entry_id = raw.execute(_SQLITE_INSERT, params).fetchone()[0]
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
    finally:
        if lock is not None:
            lock.release()
    return entry_id, last_hash, entry_hash


def _insert(segment: str, values: dict[str, Any], subjects: list[bytes]) -> Written:
    """Hand-written SQL (this runs once per data request): read the segment head, insert the
    entry (its subjects packed in its row) and the new head — in one transaction, or inside the
    caller's, so the entry commits together with whatever the caller does (``savepoint=False``:
    an audit failure fails the caller's whole transaction). The head is read inside the
    transaction, so a rolled-back outer transaction cannot leave the chain pointing at a vanished
    entry (the in-memory head of ``_insert_checked`` is only ever used after the database
    confirmed it)."""
    entries = AccessEntry._meta.db_table
    heads = AccessSegment._meta.db_table
    ops = connection.ops
    pg = connection.vendor == "postgresql"
    lock = " FOR UPDATE" if pg else ""
    json_cast = "::jsonb" if pg else ""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT last_seq, last_hash FROM {heads} WHERE segment = %s{lock}",  # noqa: S608
            [segment],
        )
        head = cursor.fetchone()
        last_seq, last_hash = head or (0, GENESIS)
        entry_hash, params = _entry_params(values, last_seq, last_hash, segment, subjects)
        placeholders = ", ".join(
            "%s" + json_cast if c == "fields" else "%s" for c in _ENTRY_COLUMNS
        )
        cursor.execute(
            f"INSERT INTO {entries} ({', '.join(_ENTRY_COLUMNS)}) "  # noqa: S608
            f"VALUES ({placeholders}) RETURNING id",
            params,
        )
        entry_id = cursor.fetchone()[0]
        if head:
            cursor.execute(
                f"UPDATE {heads} SET last_seq = %s, last_hash = %s WHERE segment = %s",  # noqa: S608
                [last_seq + 1, entry_hash, segment],
            )
        else:
            cursor.execute(
                f"INSERT INTO {heads} (segment, started_at, last_seq, last_hash) "  # noqa: S608
                "VALUES (%s, %s, %s, %s)",
                [segment, ops.adapt_datetimefield_value(values["at"]), 1, entry_hash],
            )
    return entry_id, last_hash, entry_hash


def _entry_values(
    *,
    operation: str,
    outcome: str,
    at: datetime,
    dataset_id: int | None = None,
    dataset_code: str = "",
    institution_id: int | None = None,
    connection_id: int | None = None,
    user_id: int | None = None,
    actor_label: str = "",
    grant_id: int | None = None,
    permission_number: str = "",
    purpose: str = "",
    identifiers: Iterable[str] = (),
    records_returned: int = 0,
    fields: list[str] | None = None,
    status_code: int = 200,
    duration_ms: float = 0.0,
    request_id: str = "",
) -> tuple[dict[str, Any], list[bytes]]:
    subjects = subject_hashes(identifiers)
    values: dict[str, Any] = {
        "at": at, "request_id": request_id[:64], "institution_id": institution_id,
        "connection_id": connection_id, "user_id": user_id, "actor_label": actor_label[:255],
        "dataset_id": dataset_id, "dataset_code": dataset_code[:64], "grant_id": grant_id,
        "permission_number": permission_number[:100], "operation": operation[:30],
        "purpose": purpose[:255], "identifiers_asked": len(subjects),
        "records_returned": records_returned, "fields": list(fields or []), "outcome": outcome,
        "status_code": status_code, "duration_ms": round(float(duration_ms), 3),
        "version": VERSION,
    }  # fmt: skip
    return values, subjects


def access_entries_write_bulk(entries: Iterable[dict[str, Any]], *, batch: int = 10_000) -> int:
    """The bulk path: many past accesses at once (the demo's history, benchmarks, imports from
    an older system) — each entry takes the keyword arguments of ``access_entry_write`` (``at``
    required), gets the same keyed digest and is chained in this process's segment; written with
    ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) in batches of ``batch`` entries, each batch
    one transaction. Returns how many were written."""
    segment = _current_segment()
    entries_table = AccessEntry._meta.db_table
    heads = AccessSegment._meta.db_table
    pg = connection.vendor == "postgresql"
    lock = " FOR UPDATE" if pg else ""
    json_cast = "::jsonb" if pg else ""
    placeholders = ", ".join("%s" + json_cast if c == "fields" else "%s" for c in _ENTRY_COLUMNS)
    insert = (
        f"INSERT INTO {entries_table} (id, {', '.join(_ENTRY_COLUMNS)}) "  # noqa: S608
        f"VALUES (%s, {placeholders})"
    )
    written = 0
    pending: list[dict[str, Any]] = []

    head_sql = f"SELECT last_seq, last_hash FROM {heads} WHERE segment = %s"  # noqa: S608

    def chain(
        head: tuple[int, str] | None,
    ) -> tuple[int, str, list[list[Any]]]:
        """Digests and SQL parameters of the pending entries after ``head``."""
        last_seq, last_hash = head or (0, GENESIS)
        params: list[list[Any]] = []
        for kwargs in pending:
            values, subjects = _entry_values(**kwargs)
            last_hash, row = _entry_params(values, last_seq, last_hash, segment.name, subjects)
            last_seq += 1
            params.append(row)
        return last_seq, last_hash, params

    def flush() -> None:
        nonlocal written
        # The keyed digests are the costly part: computed before the write transaction from the
        # segment's head as read now (only this process writes its segment), and again inside
        # it only if the head moved meanwhile — so several bulk writers do not hold SQLite's one
        # write lock while they hash.
        with segment.lock:
            with connection.cursor() as cursor:
                cursor.execute(head_sql, [segment.name])
                seen = cursor.fetchone()
            prepared = chain(seen)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(head_sql + lock, [segment.name])
                head = cursor.fetchone()
                if head != seen:
                    prepared = chain(head)
                last_seq, last_hash, params = prepared
                if pg:  # ids from the table's own sequence: other writers may run meanwhile
                    # The table's write lock before the ids are drawn, as an INSERT takes it:
                    # ``dagr.audit.subjects`` relies on it to never index past an open entry.
                    cursor.execute(f"LOCK TABLE {entries_table} IN ROW EXCLUSIVE MODE")
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                        "FROM generate_series(1, %s)",
                        [entries_table, len(pending)],
                    )
                    ids = [r[0] for r in cursor.fetchall()]
                else:  # SQLite: this transaction is the only writer
                    # Above every id ever used (AUTOINCREMENT's counter too): an id is never
                    # reused, so none falls below the subject index's watermark unindexed.
                    cursor.execute(
                        f"SELECT MAX(COALESCE(MAX(id), 0), COALESCE((SELECT seq FROM "  # noqa: S608
                        f"sqlite_sequence WHERE name = %s), 0)) FROM {entries_table}",
                        [entries_table],
                    )
                    first = cursor.fetchone()[0] + 1
                    ids = list(range(first, first + len(pending)))
                first_at = pending[0]["at"]
                rows = [(entry_id, *row) for entry_id, row in zip(ids, params, strict=True)]
                if pg:  # COPY: one stream per table instead of a statement per row (~10× faster)
                    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                    columns = ", ".join(("id", *_ENTRY_COLUMNS))
                    with raw.copy(f"COPY {entries_table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(insert, rows)
                if head:
                    cursor.execute(
                        f"UPDATE {heads} SET last_seq = %s, last_hash = %s WHERE segment = %s",  # noqa: S608
                        [last_seq, last_hash, segment.name],
                    )
                else:
                    cursor.execute(
                        f"INSERT INTO {heads} (segment, started_at, last_seq, last_hash) "  # noqa: S608
                        "VALUES (%s, %s, %s, %s)",
                        [
                            segment.name,
                            connection.ops.adapt_datetimefield_value(first_at),
                            last_seq,
                            last_hash,
                        ],
                    )
                segment.head = None  # the fast path re-reads the head from the database
        written += len(pending)
        pending.clear()

    for entry in entries:
        pending.append(entry)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return written


def who_read(value: str) -> QuerySet[AccessEntry]:
    """Accesses that asked for or returned records with this identifier value (indexed or not
    yet: ``dagr.audit.subjects.entries_with_subject``)."""
    return AccessEntry.objects.defer("subject_hashes").filter(
        entries_with_subject(subject_hash(value))
    )
