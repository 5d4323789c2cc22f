"""Statistics of use: per-minute, -hour, -day and -month rollups of the data-access audit.

Rollups are derived data. The worker folds new access entries into them
(``services.rollups_advance``) from the last processed entry id (``RollupCursor``), in the same
transaction that moves the cursor; ``dagr stats rebuild`` recomputes them from the audit. A page
view reads only rollups.
"""

from __future__ import annotations

from django.db import models

# Upper bounds (ms) of the latency histogram buckets; the last bucket (b13) is everything above
# 10 s. Percentiles are interpolated inside the bucket they fall in (``stats.percentile``).
BUCKET_BOUNDS_MS: tuple[float, ...] = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
BUCKET_FIELDS: tuple[str, ...] = tuple(f"b{i:02d}" for i in range(len(BUCKET_BOUNDS_MS) + 1))


class RollupRow(models.Model):
    """The accesses of one time bucket with one combination of dataset, recipient institution,
    operation, outcome and HTTP status: counts, records and identifiers served, the latency sum
    (integer microseconds, so sums are exact and a rebuild equals what was maintained) and the
    latency histogram.

    Each grain has its own table (``ROLLUPS``): rows of one period are then written next to each
    other, so reading a period reads a few neighbouring pages. In one table for every grain, the
    month rows of 13 months lay one per page among millions of hour rows: at 10 M entries that
    read took ~1.3 s on PostgreSQL for ~60,000 rows."""

    start = models.DateTimeField()
    # 0 = none (NULL would defeat the unique constraint that the upsert relies on).
    dataset_id = models.BigIntegerField(default=0)
    institution_id = models.BigIntegerField(default=0)
    operation = models.CharField(max_length=30)
    outcome = models.CharField(max_length=20)
    status_code = models.PositiveSmallIntegerField(default=200)
    count = models.BigIntegerField(default=0)
    records = models.BigIntegerField(default=0)
    identifiers = models.BigIntegerField(default=0)
    duration_us = models.BigIntegerField(default=0)
    b00 = models.BigIntegerField(default=0)
    b01 = models.BigIntegerField(default=0)
    b02 = models.BigIntegerField(default=0)
    b03 = models.BigIntegerField(default=0)
    b04 = models.BigIntegerField(default=0)
    b05 = models.BigIntegerField(default=0)
    b06 = models.BigIntegerField(default=0)
    b07 = models.BigIntegerField(default=0)
    b08 = models.BigIntegerField(default=0)
    b09 = models.BigIntegerField(default=0)
    b10 = models.BigIntegerField(default=0)
    b11 = models.BigIntegerField(default=0)
    b12 = models.BigIntegerField(default=0)
    b13 = models.BigIntegerField(default=0)

    grain: str = ""

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "start", "dataset_id", "institution_id", "operation", "outcome",
                    "status_code",
                ],
                name="%(app_label)s_%(class)s_key",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.grain} {self.start:%Y-%m-%d %H:%M} {self.operation} {self.count}"


class MinuteRollup(RollupRow):
    grain = "m"


class HourRollup(RollupRow):
    grain = "h"


class DayRollup(RollupRow):
    grain = "d"


class MonthRollup(RollupRow):
    grain = "M"


# grain → its rollup model: "m" minute, "h" hour, "d" day, "M" month (local time)
ROLLUPS: dict[str, type[RollupRow]] = {
    "m": MinuteRollup,
    "h": HourRollup,
    "d": DayRollup,
    "M": MonthRollup,
}


class RollupCursor(models.Model):
    """How far the rollups have folded in the access audit: the id of the last entry processed."""

    name = models.CharField(max_length=30, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.name} {self.last_id}"


class ConnectionSeen(models.Model):
    """When each technical connection last made a data request (folded from the audit with the
    rollups, so the recipients' page needs no search through the audit)."""

    connection_id = models.BigIntegerField(primary_key=True)
    institution_id = models.BigIntegerField(default=0)
    last_at = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.connection_id} {self.last_at}"


class DatasetSize(models.Model):
    """A dataset's size on disk, measured by the worker (``services.dataset_sizes_measure``), so
    the datasets page reads one small row instead of measuring the records table."""

    dataset_id = models.BigIntegerField(primary_key=True)
    bytes = models.BigIntegerField(default=0)
    # how it was measured: "pg" (pg_total_relation_size), "dbstat" (SQLite's dbstat), "estimate"
    method = models.CharField(max_length=10)
    measured_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.bytes}"
