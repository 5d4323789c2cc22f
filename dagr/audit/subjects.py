"""The subject index of the access audit: "which entries touched subject X".

The durable record is ``AccessEntry.subject_hashes`` — the entry's sorted 16-byte subject hashes
concatenated, written in the entry's own row in the request's transaction and covered by its
chain digest. ``AccessSubject`` (one row per entry and subject, indexed by the hash) is derived
from it after commit, in bulk, by ``subject_index_run`` (a periodic job of the worker, and
``dagr audit index-subjects``): a request never inserts into that randomly keyed index, whose
pages a batch of thousands of sorted rows dirties once per batch instead of once per request.

``AccessSubjectIndex.indexed_to`` (W) is the watermark: every entry with ``id ≤ W`` has its
subject rows, none above has any. ``entries_with_subject`` answers from the index **and** a scan
of ``subject_hashes`` of the entries above W, so the answer is complete however far behind the
worker is (the scan grows with the lag; ``index_lag`` reports it).

The watermark must never pass an id that may still commit later. Entries are written by several
processes, and on PostgreSQL ids come from a sequence when the INSERT runs, not at commit, so an
entry with a lower id can commit after one with a higher id. The bound W may move to:

- SQLite: ``MAX(id)`` read inside the job's write transaction. SQLite has one writer at a time
  and ``AUTOINCREMENT`` gives every new row an id above every id ever used, so an entry not yet
  committed will get an id above that maximum.
- PostgreSQL: ``M = MAX(id)``, once every transaction that held a write lock on the entry table
  just after M was read has ended. An INSERT takes its table lock (``RowExclusiveLock``, kept to
  the transaction's end) before it draws an id from the sequence (``access_entries_write_bulk``,
  which draws its ids first, locks the table before), and the sequence only grows. An entry with
  an id ≤ M that is not committed when M is read had its id drawn before M was, so its
  transaction held the lock then and still holds it when the lock holders are listed right
  after; once all of those have ended, nothing at or below M can commit any more. Any id drawn
  later is > M. Only writers of the entry table count (``pg_locks`` of that table), not other
  tables' or databases' transactions; a writer that stays open (a caller's long transaction
  around an audited access) holds the watermark back until it ends — who-read scans meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import AccessEntry, AccessSubject, AccessSubjectIndex

SUBJECT_BYTES = 16
# How long a run waits for the transactions that were running when it looked (PostgreSQL): a
# request's audit statement takes milliseconds; a longer one is left to the next run.
_SETTLE_DELAYS = (0.01, 0.05, 0.2, 0.5)


def pack(subjects: list[bytes]) -> bytes:
    """The column's value: the sorted hashes concatenated (the bytes the chain digest covers)."""
    return b"".join(subjects)


def unpack(packed: bytes | memoryview | None) -> list[bytes]:
    raw = bytes(packed or b"")
    return [raw[i : i + SUBJECT_BYTES] for i in range(0, len(raw), SUBJECT_BYTES)]


def indexed_to() -> int:
    """The watermark W: entries with ``id ≤ W`` are in ``AccessSubject``."""
    value = AccessSubjectIndex.objects.filter(pk=1).values_list("indexed_to", flat=True).first()
    return value or 0


def entries_with_subject(hashed: bytes) -> Q:
    """A filter on ``AccessEntry``: the entries whose subjects include ``hashed`` — from the index
    for the indexed entries and a scan of ``subject_hashes`` above the watermark. The watermark is
    read first: whatever the job indexes meanwhile is found by both, never by neither."""
    watermark = indexed_to()
    table = AccessEntry._meta.db_table
    if connection.vendor == "postgresql":
        match = "position(%s::bytea in subject_hashes) > 0"
    else:
        match = "instr(subject_hashes, %s) > 0"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, subject_hashes FROM {table} WHERE id > %s AND {match}",  # noqa: S608
            [watermark, hashed],
        )
        # ``instr``/``position`` also match across two hashes' boundary: only whole hashes count.
        recent = [int(pk) for pk, packed in cursor.fetchall() if hashed in unpack(packed)]
    # One subquery (not ``pk IN (…) OR pk IN (…)``, which PostgreSQL can only answer by a
    # sequential scan of every entry): the index's entries, plus the few recent ones.
    sql = f"SELECT entry_id FROM {AccessSubject._meta.db_table} WHERE subject_hash = %s"  # noqa: S608
    if recent:
        ids = ", ".join(map(str, recent))  # integers read from the database
        sql += f" UNION ALL SELECT id FROM {table} WHERE id IN ({ids})"  # noqa: S608
    return Q(pk__in=RawSQL(sql, [hashed]))  # noqa: S611


@dataclass
class IndexRun:
    entries: int = 0
    subjects: int = 0
    indexed_to: int = 0


def _state_row() -> None:
    AccessSubjectIndex.objects.get_or_create(pk=1, defaults={"indexed_to": 0})


# The transactions (other than this one) holding a lock on the entry table that allows writing.
_WRITERS = (
    "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
    "AND relation = %s::regclass AND pid IS DISTINCT FROM pg_backend_pid() AND mode IN "
    "('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')"
)


def _settled_bound() -> int | None:
    """PostgreSQL: the highest entry id at or below which no entry can commit any more (see the
    module docstring), or ``None`` if writers open at the first look outlast the waits."""
    table = AccessEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute(_WRITERS, [table])
        open_then = {row[0] for row in cursor.fetchall()}
        for delay in _SETTLE_DELAYS:
            if not open_then:
                return int(top)
            time.sleep(delay)
            cursor.execute(_WRITERS, [table])
            open_then &= {row[0] for row in cursor.fetchall()}
    return None


def subject_index_run(*, batch: int | None = None) -> IndexRun:
    """Index the subjects of the entries above the watermark that can no longer be preceded by a
    later commit: each batch of at most ``batch`` entries (``settings.AUDIT_SUBJECT_INDEX_BATCH``)
    or about ``settings.AUDIT_SUBJECT_INDEX_SUBJECTS`` subjects in one transaction: the index
    rows of that id range removed, its subject rows inserted in hash order, the watermark moved.
    On SQLite the batches are smaller and paced (``SQLITE_HOLD_S``): requests' writes wait for
    the job's. Idempotent; several runs at once wait for each other on the watermark row."""
    batch = batch or settings.AUDIT_SUBJECT_INDEX_BATCH
    pg = connection.vendor == "postgresql"
    run = IndexRun()
    _state_row()
    bound = _settled_bound() if pg else None
    if pg and bound is None:
        run.indexed_to = indexed_to()
        return run
    entries = AccessEntry._meta.db_table
    subjects = AccessSubject._meta.db_table
    state = AccessSubjectIndex._meta.db_table
    if pg:
        expand = (
            f"INSERT INTO {subjects} (entry_id, subject_hash) "  # noqa: S608
            "SELECT e.id, substring(e.subject_hashes FROM i * 16 + 1 FOR 16) "
            f"FROM {entries} e, generate_series(0, length(e.subject_hashes) / 16 - 1) i "
            "WHERE e.id > %s AND e.id <= %s ORDER BY 2"
        )
    else:  # SQLite has no generate_series: split in Python, one executemany in hash order
        expand = (
            f"SELECT id, subject_hashes FROM {entries} "  # noqa: S608
            "WHERE id > %s AND id <= %s AND length(subject_hashes) > 0"
        )
        insert = f"INSERT INTO {subjects} (entry_id, subject_hash) VALUES (%s, %s)"  # noqa: S608
    limit = settings.AUDIT_SUBJECT_INDEX_SUBJECTS
    if not pg:  # sized by the time it holds the write lock from the second batch on
        limit = min(limit, SQLITE_FIRST_SUBJECTS)
    while True:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            lock = " FOR UPDATE" if pg else ""
            cursor.execute(f"SELECT indexed_to FROM {state} WHERE id = 1{lock}")  # noqa: S608
            low = cursor.fetchone()[0]
            if not pg:  # inside the write transaction: see the module docstring
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {entries}")  # noqa: S608
                bound = cursor.fetchone()[0]
            assert bound is not None
            if bound <= low:
                run.indexed_to = low
                return run
            # ``limit`` rows hold at least ``limit`` subjects unless some entries hold none:
            # enough for the batch (reading ``batch`` rows to use a few dozen, in SQLite's small
            # batches, made the job's CPU per subject 2.5 times as high).
            fetch = min(batch, limit)
            cursor.execute(
                f"SELECT id, length(subject_hashes) FROM {entries} "  # noqa: S608
                "WHERE id > %s AND id <= %s ORDER BY id LIMIT %s",
                [low, bound, fetch],
            )
            rows = cursor.fetchall()
            high, size = low, 0
            for entry_id, length in rows:
                high, size = entry_id, size + (length or 0) // SUBJECT_BYTES
                run.entries += 1
                if size >= limit:
                    break
            if not rows or (len(rows) < fetch and high == rows[-1][0]):
                high = bound  # nothing else up to the bound: the watermark may pass the gaps
            cursor.execute(
                f"DELETE FROM {subjects} WHERE entry_id > %s AND entry_id <= %s",  # noqa: S608
                [low, high],
            )
            cursor.execute(expand, [low, high])
            if pg:
                run.subjects += cursor.rowcount
            else:
                pairs = sorted((h, pk) for pk, packed in cursor.fetchall() for h in unpack(packed))
                cursor.executemany(insert, [(pk, h) for h, pk in pairs])
                run.subjects += len(pairs)
            cursor.execute(
                f"UPDATE {state} SET indexed_to = %s, updated_at = %s WHERE id = 1",  # noqa: S608
                [high, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            run.indexed_to = high
        if high >= bound:
            return run
        if not pg:
            limit, pause = _sqlite_next(limit, size, time.perf_counter() - started)
            time.sleep(pause)


# SQLite has one write lock, which a batch holds from its first statement to its commit, and a
# request writing its access entry waits for it. Catching up a backlog batch after batch held it
# for seconds (measured: p99 of 0.7–1.4 s for GETs while the job indexed ~500,000 subjects left
# by batch lookups). So on SQLite a batch is sized to hold the lock about this long, and the job
# pauses twice as long before the next one (requests poll for the lock every ≤ 2 ms and get in).
# 4 ms, not the 20 ms of before: a request arriving during a hold waits for the rest of it, and
# 20 ms holds (60–170 ms for the first batch of a run, 2,000 subjects, on a busy machine) alone
# put requests past the 20 ms p99 target; the job's duty cycle, and so how fast it catches up,
# is the same (docs/performance.md, "SQLite tail latency").
SQLITE_HOLD_S = 0.004
SQLITE_FIRST_SUBJECTS = 200
SQLITE_MIN_SUBJECTS = 50


def _sqlite_next(limit: int, size: int, held: float) -> tuple[int, float]:
    """The next batch's subject limit and the pause before it, from this batch's."""
    if size:
        wanted = int(size * SQLITE_HOLD_S / max(held, 1e-4))
        limit = min(settings.AUDIT_SUBJECT_INDEX_SUBJECTS, max(SQLITE_MIN_SUBJECTS, wanted))
    return limit, min(2 * held, 0.5)


def subject_index_periodic() -> None:
    """The worker's periodic job (``DAGR_PERIODIC_JOBS``)."""
    subject_index_run()


def index_lag() -> tuple[int, int]:
    """``(entries above the watermark, highest entry id)`` — what "who read" scans."""
    watermark = indexed_to()
    table = AccessEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {table} WHERE id > %s",  # noqa: S608
            [watermark],
        )
        count, top = cursor.fetchone()
    return int(count), max(int(top), watermark)


def index_lag_seconds(now: datetime | None = None) -> float:
    """The age of the oldest entry not yet indexed (0 when none waits). One index lookup."""
    oldest = (
        AccessEntry.objects.filter(id__gt=indexed_to()).order_by("id").values_list("at", flat=True)
    ).first()
    if oldest is None:
        return 0.0
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds())
