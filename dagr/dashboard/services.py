"""Writes of the dashboard: folding the access audit into rollups, and rebuilding them.

``rollups_advance`` reads the access entries after the cursor in id order (an index range, never
the whole table), adds them to the minute, hour, day and month rollups with one upsert per key
(``count = count + excluded.count``) and moves the cursor — all in one transaction, so a crash
cannot count an entry twice or skip one. Entries newer than ``SETTLE`` are left for the next run:
on PostgreSQL an id is taken before its transaction commits, so a later id can become visible
before an earlier one; waiting a few seconds makes skipping a late commit unlikely (audit
writes are single short statements).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from dagr.audit.models import AccessEntry
from dagr.records.models import Record

from .models import (
    BUCKET_BOUNDS_MS,
    BUCKET_FIELDS,
    ROLLUPS,
    ConnectionSeen,
    DatasetSize,
    MinuteRollup,
    RollupCursor,
)
from .stats import bucket_index

CURSOR = "access"
SETTLE = timedelta(seconds=5)
BATCH = 20_000
MEASURES = ("count", "records", "identifiers", "duration_us", *BUCKET_FIELDS)
KEY = ("start", "dataset_id", "institution_id", "operation", "outcome", "status_code")

Key = tuple[str, datetime, int, int, str, str, int]

# The audit's operation names → the statistics' (the issue's get, lookup, search, export, feed);
# any other name is kept as it is.
OPERATION_NAMES = {
    "record.get": "get",
    "record.lookup": "lookup",
    "record.search": "search",
    "record.export": "export",
    "record.changes": "feed",
    "record_set.changes": "feed",
}


def _starts(at: datetime) -> tuple[tuple[str, datetime], ...]:
    """The minute, hour, day and month (local time) an access falls in."""
    # zoneinfo recomputes the UTC offset from the wall time, so the start of a day or month
    # that crossed a DST change is still its real local start.
    local = timezone.localtime(at)
    minute = local.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    day = hour.replace(hour=0)
    month = day.replace(day=1)
    return (("m", minute), ("h", hour), ("d", day), ("M", month))


def fold(
    rows: Iterable[tuple[Any, ...]], *, minutes_from: datetime | None = None
) -> dict[Key, list[int]]:
    """Sum access rows (at, dataset_id, institution_id, operation, outcome, status_code,
    records_returned, identifiers_asked, duration_ms) into rollup keys → measures. Minutes
    before ``minutes_from`` get no minute row (they would only be pruned again)."""
    sums: dict[Key, list[int]] = {}
    width = len(MEASURES)
    for at, dataset_id, institution_id, operation, outcome, status, records, idents, ms in rows:
        duration_us = round((ms or 0.0) * 1000)
        bucket = 4 + bucket_index(duration_us / 1000)
        operation = OPERATION_NAMES.get(operation, operation)
        for grain, start in _starts(at):
            if grain == "m" and minutes_from is not None and start < minutes_from:
                continue
            key = (grain, start, dataset_id or 0, institution_id or 0, operation, outcome, status)
            m = sums.get(key)
            if m is None:
                m = sums[key] = [0] * width
            m[0] += 1
            m[1] += records
            m[2] += idents
            m[3] += duration_us
            m[bucket] += 1
    return sums


def _upsert(sums: dict[Key, list[int]]) -> None:
    """Add the sums to the rollups of their grain (each grain its own table)."""
    by_grain: dict[str, dict[tuple[Any, ...], list[int]]] = {}
    for key, measures in sums.items():
        by_grain.setdefault(key[0], {})[key[1:]] = measures
    for grain, rows in by_grain.items():
        _upsert_table(ROLLUPS[grain]._meta.db_table, rows)


def _upsert_table(table: str, sums: dict[tuple[Any, ...], list[int]]) -> None:
    columns = (*KEY, *MEASURES)
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in MEASURES)
    if connection.vendor == "postgresql":
        # One statement for the whole batch: the rows arrive as one array per column and are
        # unnested by the server (a round trip per key with executemany was ~10× slower).
        types: tuple[str, ...] = ("timestamptz", "bigint", "bigint", "text", "text", "int")
        types += ("bigint",) * len(MEASURES)
        arrays = ", ".join(f"%s::{t}[]" for t in types)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 — names are ours
            f"SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
        )
        keys = list(sums)
        measures = list(sums.values())
        columns_data: list[list[Any]] = [[k[i] for k in keys] for i in range(len(KEY))]
        columns_data += [[m[i] for m in measures] for i in range(len(MEASURES))]
        with connection.cursor() as cursor:
            cursor.execute(sql, columns_data)
        return
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 — names are ours
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [(adapt(k[0]), *k[1:], *m) for k, m in sums.items()]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _connections_seen(rows: list[tuple[Any, ...]]) -> None:
    """Move each calling connection's last call time forward (and count its calls)."""
    seen: dict[int, list[Any]] = {}
    for row in rows:
        connection_id, at, institution_id = row[10], row[1], row[3]
        if connection_id:
            s = seen.setdefault(connection_id, [institution_id or 0, at, 0])
            s[1] = max(s[1], at)
            s[2] += 1
    if not seen:
        return
    table = ConnectionSeen._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (connection_id, institution_id, last_at, count) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) ON CONFLICT (connection_id) DO UPDATE SET "
            f"institution_id = excluded.institution_id, count = {table}.count + excluded.count, "
            f"last_at = CASE WHEN excluded.last_at > {table}.last_at THEN excluded.last_at "
            f"ELSE {table}.last_at END",
            [(cid, iid, adapt(at), n) for cid, (iid, at, n) in seen.items()],
        )


_COLUMNS = (
    "at", "dataset_id", "institution_id", "operation", "outcome", "status_code",
    "records_returned", "identifiers_asked", "duration_ms", "connection_id",
)  # fmt: skip


def rollups_advance(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Fold the access entries written since the last run into the rollups; returns how many.
    Runs batch after batch until the audit is caught up (each batch its own transaction)."""
    horizon = (now or timezone.now()) - SETTLE
    minutes_from = minute_rows_from(now)
    done = 0
    while True:
        with transaction.atomic():
            cursor, _ = RollupCursor.objects.select_for_update().get_or_create(name=CURSOR)
            rows = list(
                AccessEntry.objects.filter(id__gt=cursor.last_id)
                .order_by("id")
                .values_list("id", *_COLUMNS)[:batch]
            )
            # Stop at the first unsettled entry, so the cursor never passes one.
            first = next((i for i, r in enumerate(rows) if r[1] > horizon), len(rows))
            settled = rows[:first]
            if not settled:
                return done
            _upsert(fold((r[1:10] for r in settled), minutes_from=minutes_from))
            _connections_seen(settled)
            cursor.last_id = settled[-1][0]
            cursor.updated_at = timezone.now()
            cursor.save(update_fields=["last_id", "updated_at"])
            done += len(settled)
        if len(settled) < batch:
            return done


def rollups_rebuild(*, now: datetime | None = None) -> int:
    """Throw the rollups away and fold the whole audit again (derived data); returns how many
    entries were folded."""
    with transaction.atomic():
        for model in ROLLUPS.values():
            model._default_manager.all().delete()
        ConnectionSeen.objects.all().delete()
        RollupCursor.objects.update_or_create(name=CURSOR, defaults={"last_id": 0})
    return rollups_advance(now=now, batch=100_000)


# --- pruning the minute rows ---------------------------------------------------------------------

PRUNE_BATCH = 5_000
PRUNE_MAX_BATCHES = 40  # at most 200,000 rows per run; a backlog goes over the next runs


def minute_rows_from(now: datetime | None = None) -> datetime:
    """The first minute whose rollup row is kept: ``DAGR_STATS_MINUTE_ROWS_HOURS`` ago (at least
    2 h, so the finest view — the last hour per minute — always has its rows). Every longer
    period reads the hour, day or month rows, which are never pruned."""
    hours = max(2, int(getattr(settings, "DAGR_STATS_MINUTE_ROWS_HOURS", 48)))
    at = timezone.localtime((now or timezone.now()) - timedelta(hours=hours))
    return at.replace(second=0, microsecond=0)


def minute_rollups_prune(
    *, now: datetime | None = None, batch: int = PRUNE_BATCH, max_batches: int = PRUNE_MAX_BATCHES
) -> int:
    """Delete minute rollups older than ``minute_rows_from`` in batches of ``batch`` rows (each its
    own short transaction, so the audit writers and the page readers wait at most one batch),
    at most ``max_batches`` per call; returns how many rows went. The rows are found through the
    rollup key's index (it starts with start)."""
    cutoff = minute_rows_from(now)
    deleted = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(
                MinuteRollup.objects.filter(start__lt=cutoff)
                .order_by("start")
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                MinuteRollup.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch:
            break
    return deleted


# --- size on disk ---------------------------------------------------------------------------------


def _table_bytes(table: str) -> tuple[int, str] | None:
    """Bytes the table takes on disk with its indexes (and PostgreSQL's TOAST), from the
    database's own bookkeeping: PostgreSQL ``pg_total_relation_size`` (catalog, instant); SQLite
    the ``dbstat`` virtual table when compiled in (SQLITE_ENABLE_DBSTAT_VTAB; it reads the
    table's pages, which is why this runs in the worker and not on page view). DAGR's own
    database is SQLite or PostgreSQL only; ``None`` where neither answers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [table])
            return int(cursor.fetchone()[0]), "pg"
        if connection.vendor == "sqlite":
            try:
                cursor.execute(
                    "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = %s OR name IN "
                    "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s)",
                    [table, table],
                )
            except DatabaseError:  # built without dbstat
                return None
            return int(cursor.fetchone()[0]), "dbstat"
    return None


def _record_weights() -> dict[int, int]:
    """Per dataset, the bytes its rows of the records table hold: PostgreSQL ``pg_column_size``
    of each whole row as stored (compressed/TOASTed values count as stored); on SQLite the
    length of the JSON data and the key in bytes plus a fixed row overhead. One pass over the
    records (grouped by dataset): the worker's job, now and then, never a page view's."""
    table = Record._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT dataset_id, sum(pg_column_size(r.*)) FROM {table} r "  # noqa: S608 — ours
            "GROUP BY dataset_id"
        )
    else:
        key = connection.ops.quote_name("key")
        sql = (
            f"SELECT dataset_id, sum(length(CAST(data AS BLOB)) + length({key}) + "  # noqa: S608
            f"{ROW_OVERHEAD}) FROM {table} GROUP BY dataset_id"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {int(ds): int(n or 0) for ds, n in cursor.fetchall()}


# The other columns of a records row and the row's own header, roughly (ids, hash, version,
# dates): used where the database cannot say.
ROW_OVERHEAD = 80


def dataset_sizes_measure(*, now: datetime | None = None) -> dict[int, int]:
    """Measure each dataset's size on disk and store it (``DatasetSize``): the records table's
    size with its indexes (``_table_bytes``) shared out among the datasets in proportion to the
    bytes of their rows (``_record_weights``), so index and page overhead is spread by size.
    Without the database's own figure (SQLite without dbstat) the row bytes themselves are the
    estimate. Returns dataset id → bytes."""
    now = now or timezone.now()
    weights = _record_weights()
    measured = _table_bytes(Record._meta.db_table)
    total_weight = sum(weights.values())
    if measured is not None and total_weight:
        total, method = measured
        sizes = {ds: round(total * w / total_weight) for ds, w in weights.items()}
    else:
        method = measured[1] if measured else "estimate"
        sizes = dict(weights)
    with transaction.atomic():
        DatasetSize.objects.exclude(dataset_id__in=list(sizes)).delete()
        for ds, n in sizes.items():
            DatasetSize.objects.update_or_create(
                dataset_id=ds, defaults={"bytes": n, "method": method, "measured_at": now}
            )
    return sizes


# --- the worker's periodic job -------------------------------------------------------------------

SIZES = "sizes"  # a RollupCursor row whose updated_at is when the sizes were last measured


def stats_periodic(*, now: datetime | None = None) -> int:
    """The worker's statistics job (``DAGR_PERIODIC_JOBS``, every ``DAGR_STATS_INTERVAL_S``):
    fold the new access entries, prune minute rows past their keep, and measure the datasets'
    size when the last measurement is older than ``DAGR_STATS_SIZE_INTERVAL_S``. Returns how
    many access entries were folded."""
    now = now or timezone.now()
    folded = rollups_advance(now=now)
    minute_rollups_prune(now=now)
    every = timedelta(seconds=int(getattr(settings, "DAGR_STATS_SIZE_INTERVAL_S", 3600)))
    mark, _ = RollupCursor.objects.get_or_create(name=SIZES)
    if mark.updated_at is None or now - mark.updated_at >= every:
        dataset_sizes_measure(now=now)
        mark.updated_at = now
        mark.save(update_fields=["updated_at"])
    return folded


__all__ = [
    "BUCKET_BOUNDS_MS",
    "dataset_sizes_measure",
    "minute_rollups_prune",
    "rollups_advance",
    "rollups_rebuild",
    "stats_periodic",
]
