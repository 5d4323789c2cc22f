"""Rollups: folded incrementally from the audit's last processed position, equal to a rebuild."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from dagr.dashboard.models import BUCKET_FIELDS, ROLLUPS, ConnectionSeen, RollupCursor
from dagr.dashboard.selectors import rollup_lag_seconds
from dagr.dashboard.services import rollups_advance, rollups_rebuild
from dagr.dashboard.stats import bucket_index, percentile

from .conftest import World, access, now_plus

pytestmark = pytest.mark.django_db


def snapshot() -> list[tuple[Any, ...]]:
    fields = [
        "start", "dataset_id", "institution_id", "operation", "outcome", "status_code",
        "count", "records", "identifiers", "duration_us", *BUCKET_FIELDS,
    ]  # fmt: skip
    return sorted(
        (grain, *row)
        for grain, model in ROLLUPS.items()
        for row in model.objects.values_list(*fields)
    )


def seen() -> list[tuple[Any, ...]]:
    return sorted(ConnectionSeen.objects.values_list("connection_id", "last_at", "count"))


def test_every_grain_counts_every_access(history: World) -> None:
    assert rollups_advance(now=now_plus()) == 13
    for grain in "mhdM":
        rows = ROLLUPS[grain].objects.all()
        assert sum(r.count for r in rows) == 13
        assert sum(r.records for r in rows) == 5 + 0 + 20 + 2 + 3 + 1
    denied = ROLLUPS["M"].objects.get(outcome="denied")
    assert (denied.status_code, denied.dataset_id) == (403, history.other_persons.pk)
    slow = ROLLUPS["M"].objects.get(operation="lookup")
    assert slow.b09 == 1 and slow.duration_us == 700_000  # 500 < 700 ≤ 1000 ms


def test_advance_reads_only_new_entries_and_moves_the_cursor(history: World) -> None:
    rollups_advance(now=now_plus())
    first = RollupCursor.objects.get(name="access").last_id
    assert rollups_advance(now=now_plus()) == 0
    access(history, minutes_ago=1)
    access(history, minutes_ago=1, outcome="error", status_code=500)
    assert rollups_advance(now=now_plus()) == 2
    assert RollupCursor.objects.get(name="access").last_id > first
    assert sum(r.count for r in ROLLUPS["d"].objects.all()) == 15


def test_recent_entries_wait_until_settled(history: World) -> None:
    from django.utils import timezone

    access(history, minutes_ago=0)
    assert rollups_advance(now=timezone.now()) == 13  # the newest one is not settled yet
    assert rollup_lag_seconds() >= 0
    assert rollups_advance(now=now_plus()) == 1
    assert rollup_lag_seconds() == 0


def test_rebuild_equals_what_was_maintained(history: World) -> None:
    # maintained in small batches and several runs, with entries arriving in between
    rollups_advance(now=now_plus(), batch=3)
    access(history, minutes_ago=2, operation="feed", records_returned=40, duration_ms=12.5)
    access(history, minutes_ago=61 * 24, operation="search")  # yesterday or so
    rollups_advance(now=now_plus(), batch=2)
    maintained, maintained_seen = snapshot(), seen()
    assert len(maintained) > 10
    assert rollups_rebuild(now=now_plus()) == 15
    assert snapshot() == maintained
    assert seen() == maintained_seen


def test_the_command_rebuilds(history: World, capsys: Any) -> None:
    rollups_advance(now=now_plus())
    ROLLUPS["M"].objects.all().update(count=999)  # derived data gone wrong
    call_command("stats", "rebuild")
    assert "13 access entries" in capsys.readouterr().out
    assert sum(r.count for r in ROLLUPS["M"].objects.all()) == 13


def test_connections_last_call(history: World) -> None:
    rollups_advance(now=now_plus())
    s = ConnectionSeen.objects.get(connection_id=history.recipient_connection_id)
    assert s.count == 7 and s.institution_id == history.recipient.pk


def test_percentiles_from_buckets() -> None:
    assert bucket_index(0.5) == 0 and bucket_index(1) == 0 and bucket_index(1.5) == 1
    assert bucket_index(20_000) == len(BUCKET_FIELDS) - 1
    counts = [0] * len(BUCKET_FIELDS)
    counts[2] = 90  # 2–5 ms
    counts[9] = 10  # 500–1000 ms
    assert percentile(counts, 0.5) == pytest.approx(2 + 3 * 50 / 90, abs=0.01)
    assert 500 < percentile(counts, 0.95) <= 1000  # type: ignore[operator]
    assert percentile([0] * len(BUCKET_FIELDS), 0.5) is None


def test_the_bulk_path_writes_verifiable_chained_entries(
    world: World, tmp_path: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from dagr.audit.access import access_entries_write_bulk
    from dagr.audit.integrity import audit_verify, checkpoint_write
    from dagr.audit.models import AccessEntry

    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "checkpoints.jsonl"
    settings.AUDIT_VERIFIED_PATH = tmp_path / "verified.json"
    start = timezone.now() - timedelta(days=3)
    entries = (
        {
            "at": start + timedelta(minutes=i), "operation": "get", "outcome": "ok",
            "dataset_id": world.persons.pk, "dataset_code": "persons",
            "institution_id": world.recipient.pk, "identifiers": [f"3200000{i:04d}"],
            "records_returned": 1, "duration_ms": 1.5,
        }
        for i in range(25)
    )  # fmt: skip
    assert access_entries_write_bulk(entries, batch=10) == 25
    access(world, minutes_ago=0)  # the ordinary writer continues the same chain
    assert AccessEntry.objects.count() == 26
    packed = AccessEntry.objects.values_list("subject_hashes", flat=True)
    assert [len(p) for p in packed] == [16] * 26
    checkpoint_write()
    report = audit_verify()
    assert report.ok, report.problems
    assert rollups_advance(now=now_plus()) == 26
