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

from django.db import connection, transaction
from django.utils import timezone

from dagr.audit.models import AccessEntry

from .models import BUCKET_BOUNDS_MS, BUCKET_FIELDS, ConnectionSeen, Rollup, RollupCursor
from .stats import bucket_index

CURSOR = "access"
SETTLE = timedelta(seconds=5)
BATCH = 20_000
MEASURES = ("count", "records", "identifiers", "duration_us", *BUCKET_FIELDS)
KEY = ("grain", "start", "dataset_id", "institution_id", "operation", "outcome", "status_code")

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


def fold(rows: Iterable[tuple[Any, ...]]) -> dict[Key, list[int]]:
    """Sum access rows (at, dataset_id, institution_id, operation, outcome, status_code,
    records_returned, identifiers_asked, duration_ms) into rollup keys → measures."""
    sums: dict[Key, list[int]] = {}
    width = len(MEASURES)
    for at, dataset_id, institution_id, operation, outcome, status, records, idents, ms in rows:
        duration_us = round((ms or 0.0) * 1000)
        bucket = 4 + bucket_index(duration_us / 1000)
        operation = OPERATION_NAMES.get(operation, operation)
        for grain, start in _starts(at):
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
    table = Rollup._meta.db_table
    columns = (*KEY, *MEASURES)
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in MEASURES)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 — names are ours
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params = [(k[0], adapt(k[1]), *k[2:], *m) for k, m in sums.items()]
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
            _upsert(fold(r[1:10] for r in settled))
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
        Rollup.objects.all().delete()
        ConnectionSeen.objects.all().delete()
        RollupCursor.objects.update_or_create(name=CURSOR, defaults={"last_id": 0})
    return rollups_advance(now=now, batch=100_000)


__all__ = ["BUCKET_BOUNDS_MS", "rollups_advance", "rollups_rebuild"]
