"""Loading records: validate, then insert / update / skip / delete, with history and change log.

Every load is one transaction. Records are validated with the dataset's compiled schema
validator as they stream in; while all are valid they are written in batches of
``BATCH_SIZE`` with hand-written SQL (``executemany`` on SQLite, ``COPY`` on PostgreSQL). At
the first invalid record writing stops, validation continues to the end to report every invalid
record (position, key, field, reason), and the transaction is rolled back: nothing is stored.
A failed load is still recorded as a ``Load`` row with status ``failed`` and its errors.

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
rows when the load began, batches are inserted without looking their keys up, in a savepoint; a
key repeated across batches makes the unique index object, the batch is undone and the load
continues on the general path (look up, then insert / update / skip).

Idempotence: a record whose canonical content hash equals the stored one is counted
``unchanged`` and writes nothing; loading the same data twice creates no versions and no
change entries. The same key twice in one input is applied in order (the second occurrence
updates the first).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset, SchemaVersion
from dagr.catalog.schema import (
    MESSAGES,
    SchemaDef,
    Validator,
    compile_validator,
    extract_identifiers,
    parse_schema,
)
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from dagr.permissions import rules

from .models import Change, Load, Record, RecordIdentifier, RecordVersion
from .signals import records_changed

if TYPE_CHECKING:
    from dagr.connections.tokens import Principal

BATCH_SIZE = 5000
IN_CHUNK = 500  # SQLite: bound parameters per statement
PG_IN_CHUNK = 5000  # PostgreSQL: one array parameter
MAX_ERRORS = 10_000
MAX_VALUE_LENGTH = 255
SQLITE_CACHE_KIB = 128 * 1024
LOCK_NAMESPACE = 0x44A6  # first key of the PostgreSQL advisory lock taken by loads

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


def content_hash(data: dict[str, Any]) -> str:
    """Hex digest of the canonical JSON (sorted keys, compact) of a normalised record."""
    return hashlib.blake2b(orjson.dumps(data, option=_SORT), digest_size=16).hexdigest()


# --- the writer: batched SQL, one instance per load ----------------------------------------------


@dataclass(slots=True)
class _Existing:
    id: int
    content_hash: str
    version: int
    deleted: bool


@dataclass
class _Counts:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


class _Writer:
    """Writes batches of one load with hand-written SQL. Holds the per-dataset lock's promise:
    it is created only inside the load's transaction after ``_lock_dataset``."""

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
        self.counts = _Counts()
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
            with self.cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            self.cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608

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
    def upsert(self, batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]]) -> None:
        if self.empty_at_start:
            # Into a dataset that had no rows when this load took the lock, a key can only exist
            # if an earlier batch of this same load wrote it: insert without looking keys up, in a
            # savepoint; if the unique (dataset, key) index objects, undo the batch and take the
            # general path from now on.
            savepoint = self.conn.savepoint()
            try:
                self._insert_all_new(batch)
            except (IntegrityError, self.conn.Database.IntegrityError):  # type: ignore[attr-defined]  # the backend's DB-API module
                self.conn.savepoint_rollback(savepoint)  # type: ignore[arg-type]  # a load runs in atomic: never None
                self.empty_at_start = False
            else:
                self.conn.savepoint_commit(savepoint)  # type: ignore[arg-type]  # as above
                return
        self._upsert_general(batch)

    def _insert_all_new(
        self, batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]]
    ) -> None:
        compiled = self.compiled
        assert compiled is not None
        now, now_db = self.now()
        ids = self.allocate_ids(len(batch))
        version, dataset_id = compiled.number, self.dataset_id
        changes: list[tuple[str, int, str, int]]
        record_rows, ident_rows, changes = [], [], []
        created = Change.Operation.CREATED
        for pk, (key, (data, idents)) in zip(ids, batch.items(), strict=True):
            text = orjson.dumps(data, option=_SORT)  # canonical: stored and hashed
            digest = hashlib.blake2b(text, digest_size=16).hexdigest()
            record_rows.append(
                (pk, dataset_id, key, text.decode(), digest, 1, version, now_db, now_db, None)
            )
            for path, value in idents:
                ident_rows.append((dataset_id, pk, path, value))
            changes.append((key, pk, created, 1))
        self.insert(self.t_record, RECORD_COLUMNS, record_rows)
        self.insert(self.t_ident, IDENT_COLUMNS, ident_rows)
        self._changes(changes, now)
        # counted only once the savepoint holds
        self.counts.created += len(record_rows)
        if self.touched is not None:
            self.touched.extend(ids)

    def _upsert_general(
        self, batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]]
    ) -> None:
        compiled = self.compiled
        assert compiled is not None
        existing = self.lookup(list(batch))
        now, now_db = self.now()
        fresh: list[tuple[str, str, str, list[tuple[str, str]]]] = []
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
            text = canonical.decode()
            if old is None:
                fresh.append((key, text, digest, idents))
                order.append((key, "new"))
            else:
                changed.append((old, key, text, digest, idents))
                order.append((key, "changed"))

        ids = self.allocate_ids(len(fresh))
        ident_rows: list[tuple[int, int, str, str]]
        record_rows, ident_rows, by_key = [], [], {}
        for pk, (key, text, digest, idents) in zip(ids, fresh, strict=True):
            record_rows.append(
                (pk, self.dataset_id, key, text, digest, 1, compiled.number, now_db, now_db, None)
            )
            ident_rows.extend((self.dataset_id, pk, path, value) for path, value in idents)
            by_key[key] = (pk, Change.Operation.CREATED, 1)
        self.insert(self.t_record, RECORD_COLUMNS, record_rows)
        self.counts.created += len(fresh)

        if changed:
            changed_ids = [old.id for old, *_ in changed]
            self._archive(changed_ids, now_db)
            self._drop_identifiers(changed_ids)
            self.cursor.executemany(
                f"UPDATE {self.t_record} SET data = {self._json()}, content_hash = %s, "  # noqa: S608
                "version = %s, schema_version = %s, updated_at = %s, deleted_at = NULL "
                "WHERE id = %s",
                [
                    (text, digest, old.version + 1, compiled.number, now_db, old.id)
                    for old, _key, text, digest, _idents in changed
                ],
            )
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

        self.insert(self.t_ident, IDENT_COLUMNS, ident_rows)
        self._changes([(key, *by_key[key]) for key, _kind in order], now)

    def delete(self, keys: Sequence[str]) -> None:
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
        self._changes(
            [(key, old.id, Change.Operation.DELETED, old.version + 1) for key, old in live], now
        )
        self.counts.deleted += len(live)

    def _changes(self, entries: list[tuple[str, int, str, int]], now: datetime) -> None:
        at = self.conn.ops.adapt_datetimefield_value(now)
        self.insert(
            self.t_change,
            ("dataset_id", "record_id", "record_key", "operation", "version", "at", "load_id"),
            [
                (self.dataset_id, pk, key, operation, version, at, self.load_id)
                for key, pk, operation, version in entries
            ],
        )

    def live_count(self) -> int:
        self.cursor.execute(
            f"SELECT count(*) FROM {self.t_record} "  # noqa: S608
            "WHERE dataset_id = %s AND deleted_at IS NULL",
            [self.dataset_id],
        )
        return int(self.cursor.fetchone()[0])

    def live_not_touched_count(self) -> int:
        """How many live records this load did not see: what a snapshot would delete. Every
        record the load touched is live (created, updated, unchanged or come back)."""
        return self.live_count() - len(set(self.touched or ()))

    def live_keys_not_touched(self) -> Iterator[list[str]]:
        """Keys of live records this load did not see, in batches (for snapshot loads)."""
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
def _bulk_session() -> Iterator[None]:
    """SQLite: a larger page cache while a load runs (index inserts stay in memory); the
    connection's own setting is restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _lock_dataset(dataset: Dataset) -> None:
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


# --- services ------------------------------------------------------------------------------------


@dataclass
class _Rejected(Exception):
    """Rolls a load back; ``reason`` is the error to raise when the load was refused as a
    whole (not for invalid records)."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid: int = 0
    received: int = 0
    reason: DomainError | None = None


def _refusal_error(error: DomainError) -> dict[str, Any]:
    """A whole-load refusal as the one entry of a failed load's ``errors``."""
    return {
        "position": None,
        "key": None,
        "field": "",
        "code": error.code,
        "message": str(error.message),
        **{k: v for k, v in error.extra.items() if k in ("would_delete", "live")},
    }


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {"actor_id": getattr(actor, "pk", None), "actor_label": str(actor)[:255]}


@dataclass(frozen=True)
class ConnectionActor:
    """A provider system acting through its technical connection (the API's actor for loads).
    Rules see ``is_connection``; audit entries and loads name the client id."""

    connection_id: int
    client_id: str
    institution_id: int
    kind: str
    pk = None
    is_authenticated = True
    is_active = True
    is_portal_admin = False
    is_connection = True

    @classmethod
    def from_principal(cls, principal: Principal) -> ConnectionActor:
        return cls(
            principal.connection_id, principal.client_id, principal.institution_id, principal.kind
        )

    def __str__(self) -> str:
        return f"connection {self.client_id}"


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """Stands in the input stream for an item that could not be parsed (e.g. an NDJSON line that
    is not JSON): counted and reported as an invalid record at its position."""

    code: str
    message: str


def _check_can_load(actor: Actor, dataset: Dataset) -> None:
    if not rules.can_load_dataset(actor, dataset):
        raise PermissionDenied(_("You may not load data into this dataset."))
    if dataset.status == Dataset.Status.RETIRED:
        raise Conflict(
            _("The dataset is retired: no data can be loaded into it or deleted from it."),
            code="dataset_retired",
        )


def _current_schema(dataset: Dataset) -> CompiledSchema:
    schema = dataset.schema
    if schema is None:
        raise ValidationError(_("The dataset has no schema yet."), code="no_schema")
    return compiled_schema(schema)


def _finish(load: Load, counts: _Counts, actor: Actor, dataset: Dataset) -> Load:
    load.status = Load.Status.SUCCEEDED
    load.finished_at = timezone.now()
    for name in ("received", "created", "updated", "unchanged", "deleted"):
        setattr(load, name, getattr(counts, name))
    load.save(
        update_fields=[
            "status",
            "finished_at",
            "received",
            "created",
            "updated",
            "unchanged",
            "deleted",
        ]
    )
    admin_entry_create(
        action="records.load.succeeded",
        actor=actor,
        target=load,
        target_label=f"{dataset.code} {load.mode} ({load.source})",
        institution_id=dataset.provider_id,
        changes={
            name: getattr(counts, name)
            for name in ("received", "created", "updated", "unchanged", "deleted")
        },
    )
    if counts.created + counts.updated + counts.deleted >= ANALYZE_AFTER_ROWS:
        transaction.on_commit(_refresh_statistics)
    if counts.created + counts.updated + counts.deleted:
        dataset_id = dataset.pk  # listeners (webhooks) read the new change-log entries
        transaction.on_commit(
            lambda: records_changed.send(sender=Dataset, dataset_id=dataset_id), robust=True
        )
    return load


def changes_mark_reevaluated(
    *, dataset: Dataset, record_ids: Sequence[int], since: date, until: date
) -> Load | None:
    """Append a ``rechecked`` change-log entry for each live record of ``record_ids``: records
    whose data did not change but which a relative-date condition ("older than 18 years") judges
    differently on ``until`` than on ``since``. The entries belong to one ``Load`` (source
    ``reevaluation``) whose details hold both dates; change readers judge the state before with
    ``since``. Written under the dataset's lock like any load, so sequence order holds."""
    if not record_ids:
        return None
    with transaction.atomic():
        _lock_dataset(dataset)
        now = timezone.now()
        load = Load.objects.create(
            dataset=dataset,
            mode=Load.Mode.UPSERT,
            source=Load.Source.REEVALUATION,
            status=Load.Status.SUCCEEDED,
            details={"since": since.isoformat(), "until": until.isoformat()},
            actor_label="system",
            started_at=now,
            finished_at=now,
        )
        ids = sorted(set(record_ids))
        entries: list[Change] = []
        for start in range(0, len(ids), IN_CHUNK):
            rows = Record.objects.filter(
                dataset=dataset, pk__in=ids[start : start + IN_CHUNK], deleted_at__isnull=True
            ).values_list("id", "key", "version")
            entries.extend(
                Change(
                    dataset=dataset,
                    record_id=pk,
                    record_key=key,
                    operation=Change.Operation.RECHECKED,
                    version=version,
                    at=now,
                    load=load,
                )
                for pk, key, version in rows
            )
        Change.objects.bulk_create(entries, batch_size=1000)
        Load.objects.filter(pk=load.pk).update(received=len(entries), updated=len(entries))
        dataset_id = dataset.pk
        transaction.on_commit(
            lambda: records_changed.send(sender=Dataset, dataset_id=dataset_id), robust=True
        )
    return load


ANALYZE_AFTER_ROWS = 50_000


def _refresh_statistics() -> None:
    """After a large load, refresh the planner's statistics of the record tables at once instead
    of waiting for autovacuum: with stale statistics PostgreSQL planned batch lookups of
    1,000 keys as scans (measured: 449 ms per batch before ANALYZE, 129 ms after, 1 M records).
    SQLite's planner uses the indexes without statistics."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Record, RecordIdentifier, Change):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _record_failure(
    *,
    actor: Actor,
    dataset: Dataset,
    mode: str,
    source: str,
    details: dict[str, Any],
    started_at: datetime,
    rejected: _Rejected,
) -> Load:
    """The history row (and audit entry) of a load that was refused: written after the load's
    own transaction rolled back, so it is all that remains of it."""
    with transaction.atomic():
        load = Load.objects.create(
            dataset=dataset,
            mode=mode,
            source=source,
            status=Load.Status.FAILED,
            received=rejected.received,
            invalid=rejected.invalid,
            errors=rejected.errors[:1000],
            details=details,
            started_at=started_at,
            finished_at=timezone.now(),
            **_actor_fields(actor),
        )
        admin_entry_create(
            action="records.load.failed",
            actor=actor,
            target=load,
            target_label=f"{dataset.code} {mode} ({source})",
            institution_id=dataset.provider_id,
            changes={
                "received": rejected.received,
                "invalid": rejected.invalid,
                **(
                    {
                        "reason": rejected.reason.code,
                        "would_delete": rejected.reason.extra.get("would_delete"),
                        "live": rejected.reason.extra.get("live"),
                    }
                    if rejected.reason
                    else {}
                ),
            },
        )
    return load


# --- snapshot safety: the one rule ---------------------------------------------------------------


def snapshot_max_delete_share() -> float:
    """The share of a dataset's live records a snapshot may delete without a confirmation
    (``DAGR_SNAPSHOT_MAX_DELETE_SHARE``, 0.5 by default)."""
    return float(getattr(settings, "DAGR_SNAPSHOT_MAX_DELETE_SHARE", 0.5))


def snapshot_needs_confirmation(*, received: int, live: int, would_delete: int) -> bool:
    """Whether a snapshot of ``received`` records that would delete ``would_delete`` of the
    dataset's ``live`` records may run only with ``confirm_deletions`` equal to
    ``would_delete``: it holds no records at all, or it deletes more than the allowed share.
    The API, the portal upload (preview and load) and connectors all ask this one rule."""
    return received == 0 or would_delete > live * snapshot_max_delete_share()


def snapshot_deletions_problem(
    *, received: int, live: int, would_delete: int, confirm_deletions: int | None
) -> Conflict | None:
    """``None`` when the snapshot may delete ``would_delete`` records; otherwise the refusal
    (409 ``snapshot_deletions_unconfirmed``) naming the number. A ``confirm_deletions`` that is
    given must equal ``would_delete`` exactly, needed or not."""
    if confirm_deletions == would_delete:
        return None
    if confirm_deletions is None and not snapshot_needs_confirmation(
        received=received, live=live, would_delete=would_delete
    ):
        return None
    if confirm_deletions is not None:
        message = _(
            "The confirmed number of deletions (%(confirmed)s) does not match: this snapshot "
            "would delete %(would_delete)s of the %(live)s live records. Nothing was written."
        ) % {"confirmed": confirm_deletions, "would_delete": would_delete, "live": live}
    elif received == 0:
        message = _(
            "The snapshot holds no records: it would delete all %(would_delete)s of the "
            "%(live)s live records. Nothing was written; confirm exactly %(would_delete)s "
            "deletions to load it."
        ) % {"would_delete": would_delete, "live": live}
    else:
        message = _(
            "This snapshot would delete %(would_delete)s of the %(live)s live records, more "
            "than %(share)s%% of them. Nothing was written; confirm exactly %(would_delete)s "
            "deletions to load it."
        ) % {
            "would_delete": would_delete,
            "live": live,
            "share": f"{snapshot_max_delete_share() * 100:g}",
        }
    return Conflict(
        message,
        code="snapshot_deletions_unconfirmed",
        would_delete=would_delete,
        live=live,
        received=received,
        confirm_deletions=confirm_deletions,
        max_delete_share=snapshot_max_delete_share(),
    )


def records_upsert(
    *,
    actor: Actor,
    dataset: Dataset,
    records: Iterable[Any],
    source: str = Load.Source.API,
    mode: str = Load.Mode.UPSERT,
    details: dict[str, Any] | None = None,
    coerce: bool = False,
    max_errors: int = MAX_ERRORS,
    confirm_deletions: int | None = None,
) -> Load:
    """Load ``records`` (an iterable, consumed once, never held whole) into ``dataset``.

    ``mode`` is ``upsert`` (insert new, update changed, skip unchanged) or ``snapshot`` (the
    same, then delete every live record whose key was not in the input). Returns the ``Load``
    with its counts. If any record is invalid nothing is written and ``ValidationError`` is
    raised with ``errors``: ``{"position", "key", "field", "code", "message"}`` for each
    problem (``position`` counts records from 1; at most ``max_errors`` are listed,
    ``extra["invalid"]`` counts every invalid record); the failed ``Load`` is still recorded.
    ``coerce`` accepts text cells for typed values (file uploads).

    Snapshot safety: a snapshot that holds no records, or that would delete more than
    ``DAGR_SNAPSHOT_MAX_DELETE_SHARE`` of the live records, is refused (``Conflict``
    ``snapshot_deletions_unconfirmed`` with ``would_delete`` and ``live``) unless
    ``confirm_deletions`` equals the number it would delete; a given ``confirm_deletions``
    that differs is refused too. The number is known only once the input has been read, so it
    is counted inside the load's transaction and a refusal rolls everything back; the refused
    load is recorded as failed, like one with invalid records.

    Concurrency: see the module docstring — loads of one dataset are serialised, and change
    sequence numbers of a dataset commit in order.
    """
    if mode not in (Load.Mode.UPSERT, Load.Mode.SNAPSHOT):
        raise ValidationError(_("Unknown load mode."), code="invalid_mode")
    if source not in Load.Source.values:
        raise ValidationError(_("Unknown load source."), code="invalid_source")
    if confirm_deletions is not None and (mode != Load.Mode.SNAPSHOT or confirm_deletions < 0):
        raise ValidationError(
            _("confirm_deletions is a number of deletions and applies to snapshot loads only."),
            code="invalid_confirm_deletions",
        )
    _check_can_load(actor, dataset)
    compiled = _current_schema(dataset)
    if coerce:
        compiled = CompiledSchema(
            compiled.version_id,
            compiled.number,
            compiled.schema,
            compile_validator(compiled.schema, coerce=True),
        )
    details = details or {}
    started_at = timezone.now()
    try:
        with _bulk_session(), transaction.atomic():
            _lock_dataset(dataset)
            load = Load.objects.create(
                dataset=dataset,
                mode=mode,
                source=source,
                details=details,
                started_at=started_at,
                **_actor_fields(actor),
            )
            writer = _Writer(
                dataset=dataset,
                load=load,
                compiled=compiled,
                snapshot=mode == Load.Mode.SNAPSHOT,
            )
            live = writer.live_count() if mode == Load.Mode.SNAPSHOT else 0
            _stream(writer, compiled, records, max_errors)
            if mode == Load.Mode.SNAPSHOT:
                refusal = snapshot_deletions_problem(
                    received=writer.counts.received,
                    live=live,
                    would_delete=writer.live_not_touched_count(),
                    confirm_deletions=confirm_deletions,
                )
                if refusal is not None:
                    raise _Rejected(
                        errors=[_refusal_error(refusal)],
                        received=writer.counts.received,
                        reason=refusal,
                    )
                for keys in writer.live_keys_not_touched():
                    writer.delete(keys)
            return _finish(load, writer.counts, actor, dataset)
    except _Rejected as rejected:
        failed = _record_failure(
            actor=actor,
            dataset=dataset,
            mode=mode,
            source=source,
            details=details,
            started_at=started_at,
            rejected=rejected,
        )
        if rejected.reason is not None:
            rejected.reason.extra["load_id"] = failed.pk
            raise rejected.reason from None
        raise ValidationError(
            _("%(invalid)d of %(received)d records are not valid; nothing was loaded.")
            % {"invalid": rejected.invalid, "received": rejected.received},
            code="invalid_records",
            errors=rejected.errors,
            invalid=rejected.invalid,
            received=rejected.received,
            load_id=failed.pk,
        ) from None


IdentifierExtractor = Callable[[dict[str, Any]], list[tuple[str, str]]]


def identifier_extractor(schema: SchemaDef) -> IdentifierExtractor:
    """``record -> [(path, value)]`` of the identifier values that get a ``RecordIdentifier`` row:
    every identifier of ``extract_identifiers`` except the key field (lookups by the key use
    ``Record.key``; see ``selectors.record_list_by_identifier``). Flat schemas take a fast path:
    this runs for every record of every load."""
    key = schema.key
    if any(f.fields for f in schema.fields if f.identifier is None and f.type == "list"):

        def nested(data: dict[str, Any]) -> list[tuple[str, str]]:
            return [item for item in extract_identifiers(schema, data) if item[0] != key]

        return nested
    names = tuple(f.name for f in schema.fields if f.identifier and f.name != key)

    def flat(data: dict[str, Any]) -> list[tuple[str, str]]:
        found = []
        for name in names:
            value = data.get(name)
            if value is not None:
                found.append((name, str(value)))
        return found

    return flat


def _stream(
    writer: _Writer, compiled: CompiledSchema, records: Iterable[Any], max_errors: int
) -> None:
    key_field = compiled.schema.key
    identifiers_of = identifier_extractor(compiled.schema)
    _validate_and_write(
        writer, compiled, records, max_errors, writer.upsert, key_field, identifiers_of
    )


def _validate_and_write(
    writer: _Writer,
    compiled: CompiledSchema,
    records: Iterable[Any],
    max_errors: int,
    upsert: Callable[[dict[str, tuple[dict[str, Any], list[tuple[str, str]]]]], None],
    key_field: str,
    identifiers_of: IdentifierExtractor,
) -> None:
    validate = compiled.validate
    too_long = _("is longer than %(max)d characters") % {"max": MAX_VALUE_LENGTH}
    errors: list[dict[str, Any]] = []
    invalid = 0
    batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {}
    position = 0
    for position, raw in enumerate(records, 1):
        data, problems = validate(raw)
        if data is None:
            invalid += 1
            if isinstance(raw, UnreadableRecord):
                if len(errors) < max_errors:
                    errors.append(
                        {
                            "position": position,
                            "key": None,
                            "field": "",
                            "code": raw.code,
                            "message": raw.message,
                        }
                    )
                continue
            key = raw.get(key_field) if isinstance(raw, dict) else None
            for problem in problems:
                if len(errors) < max_errors:
                    errors.append(
                        {
                            "position": position,
                            "key": None if key is None else _shown(str(key)),
                            **problem.as_dict(),
                            "field": _shown(problem.field),
                        }
                    )
            continue
        key = str(data[key_field])
        idents = identifiers_of(data)
        if len(key) > MAX_VALUE_LENGTH or any(len(v) > MAX_VALUE_LENGTH for _p, v in idents):
            # keys and identifiers are indexed: at most 255 characters
            invalid += 1
            long_paths = [key_field] if len(key) > MAX_VALUE_LENGTH else []
            long_paths += [p for p, v in idents if len(v) > MAX_VALUE_LENGTH]
            for path in dict.fromkeys(long_paths):
                if len(errors) < max_errors:
                    errors.append(
                        {
                            "position": position,
                            "key": key[:40],
                            "field": path,
                            "code": "too_long",
                            "message": too_long,
                        }
                    )
            continue
        if invalid:
            continue  # keep validating, write nothing more
        if key in batch:  # the same key again: apply what came before first
            upsert(batch)
            batch = {}
        batch[key] = (data, idents)
        if len(batch) >= BATCH_SIZE:
            upsert(batch)
            batch = {}
    writer.counts.received = position
    if invalid:
        raise _Rejected(errors=errors, invalid=invalid, received=position)
    if batch:
        upsert(batch)


def _shown(text: str) -> str:
    """A key or field name as an error shows (and the failed load stores) it: a NUL character
    becomes U+FFFD, which PostgreSQL can store."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def records_delete(
    *,
    actor: Actor,
    dataset: Dataset,
    keys: Iterable[str],
    source: str = Load.Source.API,
    details: dict[str, Any] | None = None,
) -> Load:
    """Soft-delete the records with ``keys``: each live one gets a new version marked deleted, its
    previous version goes to the history, its identifiers leave the lookup index, and a
    ``deleted`` change entry is appended. Unknown or already deleted keys count as unchanged.
    Serialised with loads of the same dataset (see the module docstring)."""
    if source not in Load.Source.values:
        raise ValidationError(_("Unknown load source."), code="invalid_source")
    _check_can_load(actor, dataset)
    with _bulk_session(), transaction.atomic():
        _lock_dataset(dataset)
        load = Load.objects.create(
            dataset=dataset,
            mode=Load.Mode.DELETE,
            source=source,
            details=details or {},
            started_at=timezone.now(),
            **_actor_fields(actor),
        )
        writer = _Writer(dataset=dataset, load=load, compiled=None)
        batch: list[str] = []
        errors: list[dict[str, Any]] = []
        for position, raw_key in enumerate(keys, 1):
            writer.counts.received += 1
            key = str(raw_key)
            if "\x00" in key:  # no record has it, and PostgreSQL cannot compare it
                if len(errors) < MAX_ERRORS:
                    errors.append(
                        {
                            "position": position,
                            "key": _shown(key),
                            "field": "",
                            "code": "nul_character",
                            "message": str(MESSAGES["nul_character"]),
                        }
                    )
                continue
            if errors:
                continue  # keep checking, delete nothing more
            batch.append(key)
            if len(batch) >= BATCH_SIZE:
                writer.delete(list(dict.fromkeys(batch)))
                batch = []
        if errors:
            raise ValidationError(
                _("%(invalid)d of %(received)d keys are not valid; nothing was deleted.")
                % {"invalid": len(errors), "received": writer.counts.received},
                code="invalid_keys",
                errors=errors,
            )
        if batch:
            writer.delete(list(dict.fromkeys(batch)))
        return _finish(load, writer.counts, actor, dataset)


# --- the catalogue's hooks -----------------------------------------------------------------------


def stored_records_check(
    dataset: Dataset, schema: SchemaDef, limit: int
) -> tuple[int, list[tuple[str, list[Any]]]]:
    """How many live records of ``dataset`` would be invalid under ``schema``, with up to
    ``limit`` examples ``(key, [RecordError])``. Streams the records."""
    validate = compile_validator(schema)
    examples: list[tuple[str, list[Any]]]
    invalid, examples = 0, []
    rows = (
        Record.objects.filter(dataset=dataset, deleted_at__isnull=True)
        .order_by("pk")
        .values_list("key", "data")
        .iterator(chunk_size=2000)
    )
    for key, data in rows:
        normalised, problems = validate(data)
        if normalised is None:
            invalid += 1
            if len(examples) < limit:
                examples.append((key, problems))
    return invalid, examples
