"""The record store's writer: batched hand-written SQL for one load, the per-dataset lock and the
compiled schemas loads validate with. Loads and deletes (``loading``, ``deleting``) drive it.

Ordering guarantee of the change log
------------------------------------
``Change.seq`` is assigned by the database (an identity/autoincrement column). Every load or
delete of a dataset first takes an exclusive per-dataset lock for its whole transaction:

- PostgreSQL: ``pg_advisory_xact_lock(LOCK_NAMESPACE, dataset_id)`` (an advisory lock, so
  catalogue edits of the dataset row are not blocked by a long load);
- SQLite: the transaction is ``BEGIN IMMEDIATE`` (see settings), which serialises all writers.

A writer obtains its sequence numbers only after it holds the lock and releases the lock only
when it commits, so for one dataset the entries become visible in ``seq`` order: when an entry
with ``seq = n`` is visible, every entry of that dataset with ``seq < n`` is visible too. A reader
that asks for ``seq > last_seen`` of a dataset (``change_list``) therefore never misses an entry.
The guarantee is per dataset: entries of *different* datasets may commit out of ``seq`` order.

Speed (measured with ``make bench-load``): per record a load writes one record row, one
identifier row per identifier value other than the key (``Record.key`` answers key lookups) and
one change row, with no per-row foreign-key checks (``dagr.records.models``, "Integrity"). The
canonical JSON is serialised once: it is both hashed and stored. Into a dataset that had no
rows when the load began, batches are inserted without looking their keys up (PostgreSQL: each in
a savepoint; SQLite: a refused batch deletes its own new ids); a key repeated across batches makes
the unique index object, the batch is undone and the load continues on the general path (looking
keys up).

Writing behind validation: a batch's insert statements run in one background thread
(``_Pending``) while the caller parses and validates the next batch — the database's own work
(SQLite's B-tree inserts, which ``sqlite3`` runs without the GIL; PostgreSQL's COPY in its server
process) overlaps the Python work per record instead of following it. It is a pipeline of depth
one on the load's own connection and transaction: the calling thread touches the connection only
after the pending batch is done (``settle``; any other statement it runs meanwhile first waits
for it: ``guard``), statements run in the same order as before, and a batch's outcome (its
savepoint released or rolled back, its counts) is taken in the calling thread exactly as if it
had run there. The last batch of a load (and every load of one batch) runs in the calling thread.
Used where it measured faster (``BACKGROUND``: PostgreSQL).
"""

from __future__ import annotations

import gc
import hashlib
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset, SchemaVersion
from dagr.catalog.schema import SchemaDef, Validator, compile_validator, parse_schema
from dagr.core.errors import NotFound

from .models import Change, Load, Record, RecordIdentifier, RecordVersion

BATCH_SIZE = 5000
IN_CHUNK = 500  # SQLite: bound parameters per statement
PG_IN_CHUNK = 5000  # PostgreSQL: one array parameter
SQLITE_CACHE_KIB = 128 * 1024
# SQLite: rows per multi-row INSERT (fewer, not more, if the build allows fewer bound parameters).
# One statement of 200 rows instead of 200 executions of a one-row statement: the per-execution
# work (reset, step, the AUTOINCREMENT counter's update) is paid once per statement. The
# statements are ``INSERT OR FAIL``: a plain multi-row INSERT must be able to undo its own first
# rows when a later one breaks a constraint, so SQLite copies every page it touches into a
# statement journal first (measured with ``sqlite3`` alone: 247 MB written for 50,000 records
# against 8 MB; inserts 7.1 → 5.5 µs per record, docs/performance.md "Loading"). With
# FAIL a failing statement keeps its first rows and raises; nothing depends on that difference,
# because every insert of a load runs inside the load's transaction: a batch of new records the
# unique index refuses deletes all its rows (``Writer._insert_all_new``), any other error rolls
# the whole load back, with the rows of the failed statement.
SQLITE_ROWS_PER_INSERT = 200
LOCK_NAMESPACE = 0x44A6  # first key of the PostgreSQL advisory lock taken by loads
# Batches written behind validation (module doc), per database vendor. Measured (bench/load_cpu.py,
# docs/performance.md "Loading"): on PostgreSQL the server's COPY work overlaps the client's
# (+20 % rows/s); on SQLite nothing is gained on this 2-core machine (``sqlite3`` binds every
# row's parameters holding the GIL, and no core is idle) and the hand-offs cost ~10 % CPU.
BACKGROUND: dict[str, bool] = {"postgresql": True}

_SORT = orjson.OPT_SORT_KEYS


# --- compiled schemas ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    version_id: int
    number: int
    schema: SchemaDef
    validate: Validator


_compiled: dict[str, CompiledSchema] = {}


def compiled_schema(schema_version: SchemaVersion) -> CompiledSchema:
    """Parsed schema and compiled validator of a schema version, cached by the content of its
    definition (a primary key alone could come back after a rolled-back transaction)."""
    digest = hashlib.blake2b(
        orjson.dumps(
            [schema_version.pk, schema_version.number, schema_version.definition], option=_SORT
        ),
        digest_size=16,
    ).hexdigest()
    found = _compiled.get(digest)
    if found is None:
        schema = parse_schema(schema_version.definition)
        found = CompiledSchema(
            schema_version.pk, schema_version.number, schema, compile_validator(schema)
        )
        if len(_compiled) > 256:
            _compiled.clear()
        _compiled[digest] = found
    return found


RECORD_COLUMNS = (
    "id",
    "dataset_id",
    "key",
    "data",
    "content_hash",
    "version",
    "schema_version",
    "created_at",
    "updated_at",
    "deleted_at",
)
IDENT_COLUMNS = ("dataset_id", "record_id", "path", "value")
CHANGE_COLUMNS = ("dataset_id", "record_id", "record_key", "operation", "version", "at", "load_id")


def content_hash(data: dict[str, Any]) -> str:
    """Hex digest of the canonical JSON (sorted keys, compact) of a normalised record."""
    return hashlib.blake2b(orjson.dumps(data, option=_SORT), digest_size=16).hexdigest()


_COPY_TYPES: dict[tuple[str, tuple[str, ...]], list[str]] = {}
_PG_COPY_TYPE = {
    "bigint": "int8",
    "integer": "int4",
    "jsonb": "jsonb",
    "timestamp with time zone": "timestamptz",
}


def _copy_type(db_type: str | None) -> str:
    """The type name a binary COPY sends a column of ``db_type`` as (``varchar(n)`` as text:
    the same bytes; the server still checks the length)."""
    if db_type is not None and db_type.startswith("varchar("):
        return "text"
    return _PG_COPY_TYPE[db_type or ""]


def _jsonb_bytes_dumper(cursor: Any) -> type:
    """A psycopg dumper for a binary COPY into jsonb of the canonical JSON as ``bytes``: jsonb's
    binary format is a version byte (1) and the JSON text."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class CanonicalJsonb(Dumper):
        format = Format.BINARY
        oid = cursor.connection.adapters.types["jsonb"].oid

        def dump(self, obj: Any) -> bytes:
            return b"\x01" + obj

    return CanonicalJsonb


# --- the writer: batched SQL, one instance per load ----------------------------------------------


@dataclass(slots=True)
class _Existing:
    id: int
    content_hash: str
    version: int
    deleted: bool


class _BatchUndone(Exception):  # not an error: a signal to settle()
    """SQLite: the unique (dataset, key) index refused a row of a batch of new records and the
    rows the batch wrote were deleted again (``Writer._insert_all_new``)."""


@dataclass(slots=True)
class _Pending:
    """A batch whose statements run (or ran) in the background thread: ``future`` is its job;
    for a batch of new records in a savepoint also the ``savepoint``, the ``batch`` (taken again
    on the general path if the savepoint is rolled back) and the ``ids`` it created."""

    future: Future[None]
    batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = field(default_factory=dict)
    savepoint: str | None = None
    ids: list[int] = field(default_factory=list)


@dataclass
class Counts:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


class Writer:
    """Writes batches of one load with hand-written SQL. Holds the per-dataset lock's promise:
    it is created only inside the load's transaction after ``lock_dataset``."""

    def __init__(
        self,
        *,
        dataset: Dataset,
        load: Load,
        compiled: CompiledSchema | None,
        snapshot: bool = False,
    ) -> None:
        self.dataset_id = dataset.pk
        self.load_id = load.pk
        self.compiled = compiled
        self.counts = Counts()
        # The connection of the load's transaction (savepoints are taken on it directly).
        self.conn = connections[DEFAULT_DB_ALIAS]
        self.cursor = self.conn.cursor()
        self.vendor = self.conn.vendor
        self.pg = self.vendor == "postgresql"
        self._next_id: int | None = None
        self._sequence: str | None = None
        self.t_record = Record._meta.db_table
        self.t_ident = RecordIdentifier._meta.db_table
        self.t_version = RecordVersion._meta.db_table
        self.t_change = Change._meta.db_table
        # ids of the records a snapshot load saw (8 bytes each, not the records themselves)
        self.touched: array[int] | None = array("q") if snapshot else None
        self.empty_at_start = compiled is not None and not self._has_rows()
        self._pending: _Pending | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._owner = threading.get_ident()
        self.background = BACKGROUND.get(self.vendor, False)
        self._values_sql: dict[tuple[str, int], str] = {}
        self._jsonb_bytes = False

    # -- the background thread (module doc: "Writing behind validation") --
    def _run(self, job: Callable[[], None], *, background: bool) -> Future[None]:
        """Run ``job`` (statements only, no Python state of the load) in the background thread,
        or at once in this thread; either way its outcome is read with ``settle``."""
        if background:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dagr-load")
            return self._pool.submit(job)
        done: Future[None] = Future()
        try:
            job()
        except BaseException as exc:  # read (and raised) by settle, like a background job's
            done.set_exception(exc)
        else:
            done.set_result(None)
        return done

    def settle(self) -> None:
        """Wait for the pending batch and take its outcome in this thread: release its savepoint
        (PostgreSQL) and count it, or — when the unique (dataset, key) index objected — roll the
        savepoint back (on SQLite the job deleted its rows: ``_BatchUndone``) and write the batch
        on the general path. Any other error is raised here."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.future.result()
        except (_BatchUndone, IntegrityError, self.conn.Database.IntegrityError) as error:  # type: ignore[attr-defined]  # the backend's DB-API module
            if pending.savepoint is not None:
                self.conn.savepoint_rollback(pending.savepoint)
            elif not isinstance(error, _BatchUndone):
                raise
            self.empty_at_start = False
            self._upsert_general(pending.batch, background=False)
            self.settle()
            return
        if pending.ids:  # a batch of new records
            if pending.savepoint is not None:
                self.conn.savepoint_commit(pending.savepoint)
            # counted only once the batch holds
            self.counts.created += len(pending.ids)
            if self.touched is not None:
                self.touched.extend(pending.ids)

    def close(self) -> None:
        """End the background thread; the load is over (committed or rolled back next). On the
        way out of a failed load, the pending batch is waited for (the transaction must not roll
        back under it); an error of its own other than the unique index's is raised, as it would
        have been before the load read on."""
        pending, self._pending = self._pending, None
        try:
            if pending is not None:
                error = pending.future.exception()
                integrity = (_BatchUndone, IntegrityError, self.conn.Database.IntegrityError)  # type: ignore[attr-defined]
                if error is not None and not isinstance(error, integrity):
                    raise error
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        """While the load runs, a statement the calling thread executes on the connection (not
        the writer's own) first waits until the pending batch is done: the connection is never
        used by two threads at once."""

        def wait_first(execute: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
            pending = self._pending
            if pending is not None and threading.get_ident() == self._owner:
                wait_for([pending.future])
            return execute(sql, params, many, context)

        with self.conn.execute_wrapper(wait_first):
            yield

    # -- helpers --
    def _has_rows(self) -> bool:
        """Whether the dataset has any record row, live or deleted (we hold its lock)."""
        self.cursor.execute(
            f"SELECT 1 FROM {self.t_record} WHERE dataset_id = %s LIMIT 1",  # noqa: S608
            [self.dataset_id],
        )
        return self.cursor.fetchone() is not None

    def now(self) -> tuple[datetime, Any]:
        now = timezone.now()
        return now, self.conn.ops.adapt_datetimefield_value(now)

    def copied(self, now: datetime) -> Any:
        """``now`` as a row of ``insert`` carries it: on PostgreSQL the (aware) datetime itself,
        sent binary; elsewhere the backend's adapted value, formatted once per batch."""
        return now if self.pg else self.conn.ops.adapt_datetimefield_value(now)

    def stored_json(self, canonical: bytes) -> Any:
        """The canonical JSON as a row of ``insert`` carries it: the bytes themselves into
        PostgreSQL's binary COPY (``_copy_types``), text elsewhere."""
        return canonical if self.pg else canonical.decode()

    def _json(self) -> str:
        return "%s::jsonb" if self.pg else "%s"

    def allocate_ids(self, n: int) -> list[int]:
        """Primary keys for ``n`` new records: taken from the sequence on PostgreSQL; on SQLite
        counted on from the table's AUTOINCREMENT high-water mark (we hold the write lock)."""
        if n == 0:
            return []
        if self.pg:
            if self._sequence is None:
                self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.t_record])
                self._sequence = self.cursor.fetchone()[0]
            self.cursor.execute(
                "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
                [self._sequence, n],
            )
            return sorted(self.cursor.fetchone()[0])
        if self._next_id is None:
            self.cursor.execute(f"SELECT coalesce(max(id), 0) FROM {self.t_record}")  # noqa: S608
            top = self.cursor.fetchone()[0]
            self.cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self.t_record])
            row = self.cursor.fetchone()
            self._next_id = max(top, row[0] if row else 0) + 1
        start = self._next_id
        self._next_id += n
        return list(range(start, start + n))

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(columns)
        if self.pg:
            # Binary COPY: the server takes integers and times as they are instead of parsing
            # their text in every row; ``data`` goes as jsonb's binary form (version 1 and the
            # canonical JSON text, which the server parses as before).
            types = self._copy_types(table, columns)
            with self.cursor.cursor.copy(
                f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            return
        per = self._sqlite_rows_per_insert(len(columns))
        full = len(rows) - len(rows) % per
        if full:
            # Multi-row statements on the driver's cursor (qmark SQL, built once per table): the
            # same rows, columns and order as the one-row statement below, fewer executions.
            sql = self._sqlite_values_sql(table, cols, len(columns), per)
            raw, execute = self.cursor.cursor, sqlite3.Cursor.execute  # not Django's %s rewriting
            flatten = chain.from_iterable
            for start in range(0, full, per):
                execute(raw, sql, list(flatten(rows[start : start + per])))
        if full < len(rows):
            marks = ", ".join(["%s"] * len(columns))
            self.cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows[full:])  # noqa: S608

    def _copy_types(self, table: str, columns: Sequence[str]) -> list[str]:
        """PostgreSQL type names of ``columns`` of ``table`` for a binary COPY (from the models'
        columns: an integer column must be sent as exactly its width). On first use the writer's
        cursor learns to send ``bytes`` into a jsonb column as canonical JSON text."""
        found = _COPY_TYPES.get((table, tuple(columns)))
        if found is None:
            model = {m._meta.db_table: m for m in (Record, RecordIdentifier, Change)}[table]
            by_column = {f.column: f for f in model._meta.concrete_fields}
            found = [_copy_type(by_column[c].db_type(self.conn)) for c in columns]
            _COPY_TYPES[(table, tuple(columns))] = found
        if not self._jsonb_bytes:
            raw = self.cursor.cursor
            raw.adapters.register_dumper(None, _jsonb_bytes_dumper(raw))
            self._jsonb_bytes = True
        return found

    def _sqlite_rows_per_insert(self, width: int) -> int:
        limit = self.conn.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(1, min(SQLITE_ROWS_PER_INSERT, limit // width))

    def _sqlite_values_sql(self, table: str, cols: str, width: int, rows: int) -> str:
        found = self._values_sql.get((table, rows))
        if found is None:
            one = "(" + ", ".join(["?"] * width) + ")"
            found = f"INSERT OR FAIL INTO {table} ({cols}) VALUES " + ", ".join([one] * rows)  # noqa: S608
            self._values_sql[(table, rows)] = found
        return found

    def _in_chunks(self, values: Sequence[Any]) -> Iterator[tuple[str, list[Any]]]:
        """``(sql fragment, params)`` for ``column IN (...)`` over chunks of ``values``."""
        size = PG_IN_CHUNK if self.pg else IN_CHUNK
        for start in range(0, len(values), size):
            chunk = list(values[start : start + size])
            if self.pg:
                yield "= ANY(%s)", [chunk]
            else:
                yield f"IN ({', '.join(['%s'] * len(chunk))})", chunk

    def lookup(self, keys: Sequence[str]) -> dict[str, _Existing]:
        found: dict[str, _Existing] = {}
        columns = "key, id, content_hash, version, deleted_at"
        for fragment, params in self._in_chunks(keys):
            if self.pg:
                # One index probe per key, whatever the statistics say: during a large load
                # they are stale (autovacuum cannot see uncommitted rows) and a plain
                # "key = ANY(...)" gets planned as a scan of the whole dataset per batch.
                self.cursor.execute(
                    f"SELECT r.{columns.replace(', ', ', r.')} FROM unnest(%s::text[]) AS k(key) "  # noqa: S608
                    f"CROSS JOIN LATERAL (SELECT {columns} FROM {self.t_record} "
                    "WHERE dataset_id = %s AND key = k.key LIMIT 1) AS r",
                    [*params, self.dataset_id],
                )
            else:
                self.cursor.execute(
                    f"SELECT {columns} FROM {self.t_record} "  # noqa: S608
                    f"WHERE dataset_id = %s AND key {fragment}",
                    [self.dataset_id, *params],
                )
            for key, pk, digest, version, deleted_at in self.cursor.fetchall():
                found[key] = _Existing(pk, digest, version, deleted_at is not None)
        return found

    def _archive(self, ids: list[int], now_db: Any) -> None:
        """Copy the current versions of ``ids`` into the history, inside the database."""
        for fragment, params in self._in_chunks(ids):
            self.cursor.execute(
                f"INSERT INTO {self.t_version} "  # noqa: S608
                "(record_id, version, data, content_hash, valid_from, valid_to, deleted) "
                "SELECT id, version, data, content_hash, updated_at, %s, deleted_at IS NOT NULL "
                f"FROM {self.t_record} WHERE id {fragment}",
                [now_db, *params],
            )

    def _drop_identifiers(self, ids: list[int]) -> None:
        for fragment, params in self._in_chunks(ids):
            self.cursor.execute(
                f"DELETE FROM {self.t_ident} WHERE record_id {fragment}",  # noqa: S608
                params,
            )

    # -- a batch of valid, normalised records (key -> data, in input order, keys unique) --
    def upsert(
        self,
        batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]],
        *,
        last: bool = False,
    ) -> None:
        """Write ``batch``: in the background thread while the caller reads on, unless it is the
        ``last`` batch of the load. The previous batch is settled first."""
        self.settle()
        if self.empty_at_start:
            # Into a dataset that had no rows when this load took the lock, a key can only exist
            # if an earlier batch of this same load wrote it: insert without looking keys up; if
            # the unique (dataset, key) index objects, ``settle`` undoes the batch and takes the
            # general path from then on. PostgreSQL: the batch runs in a savepoint (a failed
            # COPY aborts the transaction). SQLite: no savepoint — under one, SQLite copies every
            # page the batch touches into a sub-journal first (measured: ~1.5 µs per record);
            # the record rows are written first and are the only ones the unique index can
            # refuse, so the undo is deleting this batch's record ids (``_insert_all_new``).
            savepoint = None
            if self.pg:
                savepoint = self.conn.savepoint()
                assert savepoint is not None  # a load runs in atomic
            ids, job = self._insert_all_new(batch)
            background = self.background and not last
            self._pending = _Pending(self._run(job, background=background), batch, savepoint, ids)
        else:
            self._upsert_general(batch, background=self.background and not last)
        if last:
            self.settle()

    def _insert_all_new(
        self, batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]]
    ) -> tuple[list[int], Callable[[], None]]:
        """The ids of ``batch`` as new records, and the job that inserts them."""
        compiled = self.compiled
        assert compiled is not None
        now, _now_db = self.now()
        stamp = self.copied(now)
        ids = self.allocate_ids(len(batch))
        version, dataset_id, load_id = compiled.number, self.dataset_id, self.load_id
        record_rows, ident_rows, change_rows = [], [], []
        created = Change.Operation.CREATED
        dumps, blake2b, as_text = orjson.dumps, hashlib.blake2b, not self.pg
        for pk, (key, (data, idents)) in zip(ids, batch.items(), strict=True):
            text = dumps(data, option=_SORT)  # canonical: stored and hashed
            digest = blake2b(text, digest_size=16).hexdigest()
            stored = text.decode() if as_text else text  # stored_json(), inline
            record_rows.append(
                (pk, dataset_id, key, stored, digest, 1, version, stamp, stamp, None)
            )
            for path, value in idents:
                ident_rows.append((dataset_id, pk, path, value))
            change_rows.append((dataset_id, pk, key, created, 1, stamp, load_id))

        def job() -> None:
            try:
                self.insert(self.t_record, RECORD_COLUMNS, record_rows)
            except (IntegrityError, self.conn.Database.IntegrityError) as refused:  # type: ignore[attr-defined]
                if self.pg:
                    raise  # the savepoint is rolled back
                # SQLite, no savepoint: delete what the statements wrote (this batch's ids are
                # consecutive, allocated under the write lock: no other row has them)
                self.cursor.execute(
                    f"DELETE FROM {self.t_record} "  # noqa: S608
                    "WHERE id BETWEEN %s AND %s AND dataset_id = %s",
                    [ids[0], ids[-1], dataset_id],
                )
                raise _BatchUndone from refused
            self.insert(self.t_ident, IDENT_COLUMNS, ident_rows)
            self.insert(self.t_change, CHANGE_COLUMNS, change_rows)

        return ids, job

    def _upsert_general(
        self,
        batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]],
        *,
        background: bool,
    ) -> None:
        """Look the keys of ``batch`` up, count, and write what changed (the writes as the
        pending job: ``settle`` reads their outcome)."""
        compiled = self.compiled
        assert compiled is not None
        self.settle()
        existing = self.lookup(list(batch))
        now, now_db = self.now()
        stamp = self.copied(now)
        fresh: list[tuple[str, Any, str, list[tuple[str, str]]]] = []
        changed: list[tuple[_Existing, str, str, str, list[tuple[str, str]]]] = []
        order: list[tuple[str, str]] = []  # (key, "new"|"changed") in input order
        for key, (data, idents) in batch.items():
            canonical = orjson.dumps(data, option=_SORT)  # stored as it is hashed
            digest = hashlib.blake2b(canonical, digest_size=16).hexdigest()
            old = existing.get(key)
            if old is not None and not old.deleted and old.content_hash == digest:
                self.counts.unchanged += 1
                if self.touched is not None:
                    self.touched.append(old.id)
                continue
            if old is None:
                fresh.append((key, self.stored_json(canonical), digest, idents))
                order.append((key, "new"))
            else:
                changed.append((old, key, canonical.decode(), digest, idents))
                order.append((key, "changed"))

        ids = self.allocate_ids(len(fresh))
        ident_rows: list[tuple[int, int, str, str]]
        record_rows, ident_rows, by_key = [], [], {}
        for pk, (key, text, digest, idents) in zip(ids, fresh, strict=True):
            record_rows.append(
                (pk, self.dataset_id, key, text, digest, 1, compiled.number, stamp, stamp, None)
            )
            ident_rows.extend((self.dataset_id, pk, path, value) for path, value in idents)
            by_key[key] = (pk, Change.Operation.CREATED, 1)
        self.counts.created += len(fresh)

        changed_ids = [old.id for old, *_ in changed]
        updates = [
            (text, digest, old.version + 1, compiled.number, now_db, old.id)
            for old, _key, text, digest, _idents in changed
        ]
        if changed:
            for old, key, _text, _digest, idents in changed:
                ident_rows.extend((self.dataset_id, old.id, path, value) for path, value in idents)
                # A deleted record that comes back is "created" again for change readers.
                operation = Change.Operation.CREATED if old.deleted else Change.Operation.UPDATED
                by_key[key] = (old.id, operation, old.version + 1)
                if operation == Change.Operation.CREATED:
                    self.counts.created += 1
                else:
                    self.counts.updated += 1
        if self.touched is not None:
            self.touched.extend(pk for pk, _op, _v in by_key.values())
        change_rows = self._change_rows([(key, *by_key[key]) for key, _kind in order], now)

        def job() -> None:
            self.insert(self.t_record, RECORD_COLUMNS, record_rows)
            if changed_ids:
                self._archive(changed_ids, now_db)
                self._drop_identifiers(changed_ids)
                self.cursor.executemany(
                    f"UPDATE {self.t_record} SET data = {self._json()}, content_hash = %s, "  # noqa: S608
                    "version = %s, schema_version = %s, updated_at = %s, deleted_at = NULL "
                    "WHERE id = %s",
                    updates,
                )
            self.insert(self.t_ident, IDENT_COLUMNS, ident_rows)
            self.insert(self.t_change, CHANGE_COLUMNS, change_rows)

        self._pending = _Pending(self._run(job, background=background))

    def delete(self, keys: Sequence[str]) -> None:
        self.settle()
        existing = self.lookup(keys)
        live = [(key, old) for key, old in existing.items() if not old.deleted]
        self.counts.unchanged += len(keys) - len(live)
        if not live:
            return
        now, now_db = self.now()
        ids = [old.id for _key, old in live]
        self._archive(ids, now_db)
        self._drop_identifiers(ids)
        self.cursor.executemany(
            f"UPDATE {self.t_record} SET version = %s, updated_at = %s, deleted_at = %s "  # noqa: S608
            "WHERE id = %s",
            [(old.version + 1, now_db, now_db, old.id) for _key, old in live],
        )
        self.insert(
            self.t_change,
            CHANGE_COLUMNS,
            self._change_rows(
                [(key, old.id, Change.Operation.DELETED, old.version + 1) for key, old in live],
                now,
            ),
        )
        self.counts.deleted += len(live)

    def _change_rows(
        self, entries: Sequence[tuple[str, int, str, int]], now: datetime
    ) -> list[tuple[Any, ...]]:
        at = self.copied(now)
        return [
            (self.dataset_id, pk, key, operation, version, at, self.load_id)
            for key, pk, operation, version in entries
        ]

    def live_count(self) -> int:
        self.settle()
        self.cursor.execute(
            f"SELECT count(*) FROM {self.t_record} "  # noqa: S608
            "WHERE dataset_id = %s AND deleted_at IS NULL",
            [self.dataset_id],
        )
        return int(self.cursor.fetchone()[0])

    def live_not_touched_count(self) -> int:
        """How many live records this load did not see: what a snapshot would delete. Every
        record the load touched is live (created, updated, unchanged or come back)."""
        self.settle()
        return self.live_count() - len(set(self.touched or ()))

    def live_keys_not_touched(self) -> Iterator[list[str]]:
        """Keys of live records this load did not see, in batches (for snapshot loads)."""
        self.settle()
        seen = sorted(set(self.touched or ()))
        reader = self.conn.cursor()
        reader.execute(
            f"SELECT id, key FROM {self.t_record} "  # noqa: S608
            "WHERE dataset_id = %s AND deleted_at IS NULL ORDER BY id",
            [self.dataset_id],
        )
        batch: list[str] = []
        i = 0
        while rows := reader.fetchmany(BATCH_SIZE):
            for pk, key in rows:
                while i < len(seen) and seen[i] < pk:
                    i += 1
                if i < len(seen) and seen[i] == pk:
                    continue
                batch.append(key)
            if batch:
                yield batch
                batch = []


# --- locking -------------------------------------------------------------------------------------


@contextmanager
def bulk_session() -> Iterator[None]:
    """While a load runs: fewer passes of Python's cyclic garbage collector (``_fewer_gc_passes``)
    and, on SQLite, a larger page cache (index inserts stay in memory) and no WAL checkpoint in
    the load's COMMIT; the connection's own settings are restored afterwards.

    A large load's transaction writes more WAL pages than the commits' safety-net
    auto-checkpoint (``DAGR_SQLITE_AUTOCHECKPOINT_PAGES``), so its COMMIT would copy and sync
    the whole load into the database file — ~6 % of a 1,000,000-row load's time, spent holding
    the writer lock — while the provider waits. The worker's checkpoint job does that work
    without the lock (``dagr.core.db.sqlite.checkpoint``); without a worker the next commit
    past the safety net, or the last connection's close, does it as before."""
    with _fewer_gc_passes():
        if connection.vendor != "sqlite":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            previous_cache = cursor.fetchone()[0]
            cursor.execute("PRAGMA wal_autocheckpoint")
            previous_checkpoint = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(previous_cache)}")
                cursor.execute(f"PRAGMA wal_autocheckpoint = {int(previous_checkpoint)}")


# A load keeps a batch of rows alive (~6 tuples and lists per record, 5,000 records): with the
# default threshold (2,000 net new container objects) the collector ran ~2.5 times per 1,000
# records and walked those rows again and again — ~2.5 µs per record, 13 % of a load's CPU
# (measured, docs/performance.md "Loading"). Nothing of the load is freed by the collector (its
# objects form no reference cycles; refcounting frees each batch), so while any load of the
# process runs the first generation's threshold is raised; the collector still runs, and the
# previous thresholds come back when the last load of the process ends.
GC_LOAD_THRESHOLD = 100_000
_gc_lock = threading.Lock()
_gc_loads = 0
_gc_saved: tuple[int, int, int] = (0, 0, 0)


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    global _gc_loads, _gc_saved
    with _gc_lock:
        if _gc_loads == 0:
            _gc_saved = gc.get_threshold()
            if 0 < _gc_saved[0] < GC_LOAD_THRESHOLD:  # 0: automatic collection is off
                gc.set_threshold(GC_LOAD_THRESHOLD, *_gc_saved[1:])
        _gc_loads += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_loads -= 1
            if _gc_loads == 0:
                gc.set_threshold(*_gc_saved)


def lock_dataset(dataset: Dataset) -> None:
    """Serialise loads of one dataset until the surrounding transaction ends (see module doc), and
    keep the dataset row from being deleted meanwhile: the record store's rows carry no foreign
    key constraints (``dagr.records.models``), so this one row lock is their referential check."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, dataset.pk])
            cursor.execute(
                f"SELECT 1 FROM {Dataset._meta.db_table} WHERE id = %s FOR KEY SHARE",  # noqa: S608
                [dataset.pk],
            )
            found = cursor.fetchone()
    else:
        # SQLite: the transaction began with BEGIN IMMEDIATE and holds the database write lock.
        found = Dataset.objects.filter(pk=dataset.pk).exists()
    if not found:
        raise NotFound(_("No such dataset."), code="dataset_not_found")
