"""Batches written behind validation (``writer.BACKGROUND``, the module doc's "Writing behind
validation"; used on PostgreSQL, tested here on both databases): a load stores exactly what the
same load stores with every statement in the calling thread — records, versions, identifiers,
the change log in the same order, counts, errors — and a failed load still stores nothing.
Small batches make every load here span several background batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dagr.core.actors import SYSTEM
from dagr.core.errors import ValidationError
from dagr.records import loading, services, writer
from dagr.records.models import Change, Load, Record, RecordIdentifier, RecordVersion
from tests.records.factories import make_dataset
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(loading, "BATCH_SIZE", 7)


def everywhere(background: bool) -> dict[str, bool]:
    """Background writes on (or off) whichever database the tests run on."""
    return {"sqlite": background, "postgresql": background}


def stored(dataset: Any) -> dict[str, Any]:
    """Everything a load leaves behind in ``dataset``, without ids and times."""
    keys = dict(Record.objects.filter(dataset=dataset).values_list("id", "key"))
    return {
        "records": sorted(
            (r.key, r.data, r.content_hash, r.version, r.deleted_at is None)
            for r in Record.objects.filter(dataset=dataset)
        ),
        "versions": sorted(
            (keys[v.record_id], v.version, v.data, v.deleted)
            for v in RecordVersion.objects.filter(record__dataset=dataset)
        ),
        "identifiers": sorted(
            (keys[i.record_id], i.path, i.value)
            for i in RecordIdentifier.objects.filter(dataset=dataset)
        ),
        "changes": [
            (keys[c.record_id], c.record_key, c.operation, c.version)
            for c in Change.objects.filter(dataset=dataset).order_by("seq")
        ],
        "loads": [
            (lo.status, lo.received, lo.created, lo.updated, lo.unchanged, lo.deleted, lo.invalid)
            for lo in Load.objects.filter(dataset=dataset).order_by("pk")
        ],
    }


def both_ways(monkeypatch, steps) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``steps(dataset)`` inline and in the background; what each stored."""
    results = []
    for background in (False, True):
        monkeypatch.setattr(writer, "BACKGROUND", everywhere(background))
        dataset = make_dataset()
        steps(dataset)
        results.append(stored(dataset))
    return results[0], results[1]


def test_first_load_with_keys_repeated_across_batches_stores_the_same(monkeypatch):
    rows = companies(40)
    again = [{**rows[2], "name": "SIA Otrreiz"}, {**rows[10], "employees": 999}]
    stream = [*rows[:15], again[0], *rows[15:30], again[1], *rows[30:]]

    def steps(dataset: Any) -> None:
        load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(stream))
        assert (load.received, load.created, load.updated) == (42, 40, 2)

    inline, background = both_ways(monkeypatch, steps)
    assert background == inline
    assert [op for *_k, op, _v in background["changes"]].count("updated") == 2


def test_reloads_updates_and_snapshots_store_the_same(monkeypatch):
    rows = companies(50)

    def steps(dataset: Any) -> None:
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows[:30]))
        changed = [
            {**row, "employees": 1000 + i} if i % 3 == 0 else row for i, row in enumerate(rows)
        ]
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(changed))
        services.records_upsert(
            actor=SYSTEM,
            dataset=dataset,
            records=iter(changed[5:45]),
            mode=Load.Mode.SNAPSHOT,
        )
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows[:10]))

    inline, background = both_ways(monkeypatch, steps)
    assert background == inline
    assert background["loads"][2][5] == 10  # the snapshot deleted what it did not hold


def test_an_invalid_record_after_written_batches_stores_nothing_and_reports_the_same(monkeypatch):
    rows = companies(40)
    bad = [*rows[:30], {**rows[30], "employees": "many"}, *rows[31:]]
    errors = []

    def steps(dataset: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(bad))
        errors.append((caught.value.code, caught.value.errors, caught.value.extra["invalid"]))

    inline, background = both_ways(monkeypatch, steps)
    assert background == inline
    assert background["records"] == [] and background["changes"] == []
    assert errors[0] == errors[1]
    assert errors[0][0] == "invalid_records" and errors[0][2] == 1
    assert errors[0][1][0]["position"] == 31


def test_a_stream_that_breaks_off_after_written_batches_stores_nothing(monkeypatch):
    monkeypatch.setattr(writer, "BACKGROUND", everywhere(True))
    dataset = make_dataset()

    def broken() -> Iterator[dict[str, Any]]:
        yield from companies(30)
        raise OSError("the upload went away")

    with pytest.raises(OSError, match="went away"):
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=broken())
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(dataset=dataset).exists()
    assert not RecordIdentifier.objects.filter(dataset=dataset).exists()


def test_a_stream_that_reads_the_database_meanwhile_waits_for_the_pending_batch(monkeypatch):
    """A statement the caller's thread runs while a batch is written waits for that batch
    (``Writer.guard``): it sees the batches before it and never shares the connection."""
    monkeypatch.setattr(writer, "BACKGROUND", everywhere(True))
    dataset = make_dataset()
    rows = companies(30)
    seen = []

    def reading() -> Iterator[dict[str, Any]]:
        for i, row in enumerate(rows):
            if i and i % 7 == 0:
                seen.append((i, Record.objects.filter(dataset=dataset).count()))
            yield row

    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=reading())
    assert load.created == 30
    # before record i the batches that ended at i - 7 (or earlier) are written
    assert all(count >= i - 7 for i, count in seen) and seen[-1][1] >= 14
