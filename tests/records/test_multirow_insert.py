"""SQLite writes a batch's rows with multi-row INSERT statements (``writer.SQLITE_ROWS_PER_INSERT``
rows each, the rest one row per execution): a load stores exactly what it stores with one-row
statements only — records, versions, identifiers, the change log in ``seq`` order, counts — and
a key repeated across batches still makes the unique index object and the load go on the general
path. (On PostgreSQL rows are copied; these loads run there too and must store the same.)"""

from __future__ import annotations

from typing import Any

import pytest

from dagr.core.actors import SYSTEM
from dagr.core.errors import ValidationError
from dagr.records import loading, services, writer
from dagr.records.models import Change, Load, Record
from tests.records.factories import make_dataset
from tests.records.test_background_writes import stored
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(loading, "BATCH_SIZE", 11)


def one_row_and_multi_row(monkeypatch, steps) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``steps(dataset)`` with one-row statements only, then with 3-row statements (a batch
    of 11 rows: three statements of 3 rows and two one-row executions); what each stored."""
    results = []
    for per in (1, 3):
        monkeypatch.setattr(writer, "SQLITE_ROWS_PER_INSERT", per)
        dataset = make_dataset()
        steps(dataset)
        results.append(stored(dataset))
    return results[0], results[1]


def test_loads_store_the_same_with_multi_row_statements(monkeypatch):
    rows = companies(60)
    again = [{**rows[2], "name": "SIA Otrreiz"}, {**rows[20], "employees": 999}]
    # batches of 11: the repeated key of rows[2] is the 5th row of the second batch, i.e. the
    # second row of its second 3-row statement — the unique index objects after that statement
    # wrote a row (INSERT OR FAIL keeps it): the batch's savepoint must undo it
    first = [*rows[:15], again[0], *rows[15:40], again[1]]

    def steps(dataset: Any) -> None:
        load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(first))
        assert (load.received, load.created, load.updated) == (42, 40, 2)
        changed = [
            {**row, "employees": 1000 + i} if i % 3 == 0 else row for i, row in enumerate(rows)
        ]
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(changed))
        services.records_upsert(
            actor=SYSTEM, dataset=dataset, records=iter(changed[5:55]), mode=Load.Mode.SNAPSHOT
        )
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows[:10]))

    one_row, multi_row = one_row_and_multi_row(monkeypatch, steps)
    assert multi_row == one_row
    assert len(multi_row["records"]) == 60
    # every live record's identifiers (address code, two board members) were written
    assert len({key for key, _path, _value in multi_row["identifiers"]}) == 55  # 55 live
    assert [lo[2:6] for lo in multi_row["loads"]] == [
        (40, 2, 0, 0),
        (20, 16, 24, 0),
        (0, 0, 50, 10),
        (5, 2, 3, 0),
    ]


def test_change_log_of_a_multi_row_load_follows_the_input_order(monkeypatch):
    monkeypatch.setattr(writer, "SQLITE_ROWS_PER_INSERT", 4)
    dataset = make_dataset()
    rows = companies(30)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(rows))
    changes = list(Change.objects.filter(dataset=dataset).order_by("seq"))
    assert [c.record_key for c in changes] == [row["registration_number"] for row in rows]
    ids = dict(Record.objects.filter(dataset=dataset).values_list("key", "id"))
    assert [c.record_id for c in changes] == [ids[c.record_key] for c in changes]
    assert [c.record_id for c in changes] == sorted(c.record_id for c in changes)


def test_a_failed_multi_row_load_stores_nothing(monkeypatch):
    monkeypatch.setattr(writer, "SQLITE_ROWS_PER_INSERT", 3)
    dataset = make_dataset()
    rows = companies(40)
    bad = [*rows[:30], {**rows[30], "employees": "many"}, *rows[31:]]
    with pytest.raises(ValidationError):
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(bad))
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(dataset=dataset).exists()


def test_a_batch_refused_by_the_unique_index_is_undone_exactly(monkeypatch):
    """SQLite takes no savepoint for a batch of new records: when the unique index refuses a
    row, the rows the batch's statements wrote are deleted again and the batch goes the general
    path. The change log then holds each input record once, in input order."""
    monkeypatch.setattr(writer, "SQLITE_ROWS_PER_INSERT", 3)
    dataset = make_dataset()
    rows = companies(40)
    again = [{**rows[2], "name": "SIA Otrreiz"}, {**rows[20], "employees": 999}]
    stream = [*rows[:15], again[0], *rows[15:40], again[1]]
    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=iter(stream))
    assert (load.created, load.updated) == (40, 2)
    changes = [
        (c.record_key, c.operation, c.version)
        for c in Change.objects.filter(dataset=dataset).order_by("seq")
    ]
    key = [row["registration_number"] for row in rows]
    assert changes == [
        *[(k, "created", 1) for k in key[:15]],
        (key[2], "updated", 2),
        *[(k, "created", 1) for k in key[15:40]],
        (key[20], "updated", 2),
    ]
    assert Record.objects.filter(dataset=dataset).count() == 40
    stored_rows = {r.key: r for r in Record.objects.filter(dataset=dataset)}
    assert stored_rows[key[2]].data["name"] == "SIA Otrreiz"
    assert stored_rows[key[2]].version == 2
    assert stored_rows[key[20]].data["employees"] == 999
    # every change points at the stored record of its key
    ids = {k: r.id for k, r in stored_rows.items()}
    assert all(c.record_id == ids[c.record_key] for c in Change.objects.filter(dataset=dataset))
