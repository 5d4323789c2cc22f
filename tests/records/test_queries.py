"""The hand-written SQL over the records tables (``dagr.records.queries``) gives the ORM's
answer: the same records (by id) as ``dagr.records.selectors`` filtered with the grant's Python
predicate, the change log's entries and states as the ORM reads them, and the re-check's
crossing records as the Python predicate judges them on two days."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from dagr.catalog.schema import parse_schema
from dagr.core.actors import SYSTEM
from dagr.grants.conditions import compile_predicate, validate_conditions
from dagr.grants.selectors import grant_active_for
from dagr.records import queries
from dagr.records.models import Change, Record, RecordIdentifier, RecordVersion
from dagr.records.selectors import live_records, record_list_by_identifier
from dagr.records.services import records_delete, records_upsert
from dagr.retrieval import recheck
from tests.retrieval.factories import company, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    w = make_world()
    grant = grant_active_for(
        institution_id=w.recipient.pk, dataset_id=w.dataset.pk, permission_number="ATL-1"
    )
    today = timezone.localdate()
    where, params = grant.where(column=queries.DATA_COLUMN, today=today)
    return w, grant.predicate(today=today), where, params


def orm_ids(w, predicate, path, value):
    if path == "registration_number":
        qs = live_records(w.dataset).filter(key=value)
    else:
        qs = record_list_by_identifier(dataset=w.dataset, path=path, value=value)
    return [r.pk for r in qs.order_by("pk") if predicate(r.data)]


CASES = [
    ("registration_number", "40000000002"),
    ("registration_number", "40000000021"),
    ("registration_number", "40000000023"),
    ("address_code", "100000007"),
    ("address_code", "100000022"),
    ("board_members.personal_code", "P-SHARED"),
    ("board_members.personal_code", "P-9"),
    ("board_members.personal_code", "P-nobody"),
]


@pytest.mark.parametrize(("path", "value"), CASES)
def test_single_lookup_matches_orm(setup, path, value):
    w, predicate, where, params = setup
    rows = queries.records_by_identifier(
        dataset_id=w.dataset.pk, path=path, key_path="registration_number", value=value,
        where=where, params=params,
    )  # fmt: skip
    assert [pk for pk, _data in rows] == orm_ids(w, predicate, path, value)
    for pk, data in rows:
        assert data == Record.objects.get(pk=pk).data


def test_batch_lookup_matches_orm(setup):
    w, predicate, where, params = setup
    for path in ("registration_number", "address_code", "board_members.personal_code"):
        values = [v for p, v in CASES if p == path]
        rows = queries.records_by_identifiers(
            dataset_id=w.dataset.pk, path=path, key_path="registration_number", values=values,
            where=where, params=params,
        )  # fmt: skip
        expected = sorted(
            (value, pk) for value in values for pk in orm_ids(w, predicate, path, value)
        )
        assert sorted((value, pk) for value, pk, _data in rows) == expected


def test_key_lookup_works_without_key_identifier_rows(setup):
    """The loader may stop writing identifier rows for the key path; the key still resolves."""
    w, predicate, where, params = setup
    RecordIdentifier.objects.filter(dataset=w.dataset, path="registration_number").delete()
    rows = queries.records_by_identifier(
        dataset_id=w.dataset.pk, path="registration_number", key_path="registration_number",
        value="40000000002", where=where, params=params,
    )  # fmt: skip
    assert [pk for pk, _ in rows] == orm_ids(w, predicate, "registration_number", "40000000002")
    assert len(rows) == 1


def test_page_matches_orm(setup):
    w, predicate, where, params = setup
    expected = [r.pk for r in live_records(w.dataset).order_by("pk") if predicate(r.data)]
    got, after = [], 0
    while True:
        rows = queries.records_page(
            dataset_id=w.dataset.pk, after_id=after, limit=7, where=where, params=params
        )
        got += [pk for pk, _ in rows]
        if len(rows) < 7:
            break
        after = rows[-1][0]
    assert got == expected and len(got) == 20


def test_page_walks_only_its_dataset_between_other_datasets_records(setup):
    """Records of a second world's dataset come before, between and after this dataset's ids
    (ids interleave); pages of either dataset hold exactly its live records meeting the
    conditions, from any cursor, and a cursor past the dataset's last id gives an empty page."""
    w, predicate, where, params = setup
    other = make_world()
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(n) for n in range(40, 60)])
    records_upsert(actor=SYSTEM, dataset=other.dataset, records=[company(n) for n in range(60, 70)])
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(n) for n in range(70, 75)])
    records_delete(actor=SYSTEM, dataset=w.dataset, keys=[company(45)["registration_number"]])
    for dataset in (w.dataset, other.dataset):
        live = [r.pk for r in live_records(dataset).order_by("pk") if predicate(r.data)]
        assert live
        for start in (0, live[0] - 1, live[len(live) // 2], live[-1]):
            got, after = [], start
            while True:
                rows = queries.records_page(
                    dataset_id=dataset.pk, after_id=after, limit=6, where=where, params=params
                )
                got += [pk for pk, _ in rows]
                for pk, data in rows:
                    assert data == Record.objects.get(pk=pk).data
                if len(rows) < 6:
                    break
                after = rows[-1][0]
            assert got == [pk for pk in live if pk > start]
        top = Record.objects.order_by("-pk").values_list("pk", flat=True).first()
        assert (
            queries.records_page(
                dataset_id=dataset.pk, after_id=top + 1, limit=6, where=where, params=params
            )
            == []
        )
    empty = make_world().dataset
    Record.objects.filter(dataset=empty).delete()
    assert (
        queries.records_page(dataset_id=empty.pk, after_id=0, limit=6, where=where, params=params)
        == []
    )


def test_sqlite_page_reads_by_primary_key_without_sorting(setup):
    """The plan of the page's statement on SQLite: the primary key within bounds, no sort of
    the dataset's records (which made paging through a large dataset quadratic)."""
    from django.db import connection

    w, _predicate, where, params = setup
    if connection.vendor != "sqlite":
        pytest.skip("the statement with the primary-key walk is SQLite's")
    seen: list[str] = []

    def explain(execute, sql, params_, many, context):  # type: ignore[no-untyped-def]
        if "records_record r" in sql and "LIMIT" in sql and not sql.startswith("EXPLAIN"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN QUERY PLAN " + sql, params_)
                seen.extend(str(row[-1]) for row in cursor.fetchall())
        return execute(sql, params_, many, context)

    with connection.execute_wrapper(explain):
        rows = queries.records_page(
            dataset_id=w.dataset.pk, after_id=0, limit=5, where=where, params=params
        )
    assert len(rows) == 5
    assert seen and any("PRIMARY KEY" in step for step in seen), seen
    assert not any("TEMP B-TREE" in step for step in seen), seen


# --- the change feed's rows --------------------------------------------------------------------


def orm_changes_after(dataset_id, after, limit):
    """``queries.changes_after`` in plain Python over ORM objects: the data the entry's version
    made (the record's current data when it is still that version) and, for an update, the
    version it superseded."""
    out = []
    for c in (
        Change.objects.filter(dataset_id=dataset_id, seq__gt=after)
        .select_related("record")
        .order_by("seq")[:limit]
    ):
        versions = {v.version: v.data for v in RecordVersion.objects.filter(record=c.record)}
        now = c.record.data if c.record.version == c.version else versions.get(c.version)
        before = versions.get(c.version - 1) if c.operation == "updated" else None
        out.append((c.seq, c.record_key, c.operation, c.load_id, now, before))
    return out


def sql_changes_after(dataset_id, after, limit):
    rows = queries.changes_after(dataset_id=dataset_id, after=after, limit=limit)
    return [
        (seq, key, op, load_id, None if now is None else queries._data(now),
         None if before is None else queries._data(before))
        for seq, key, op, _at, load_id, now, before in rows
    ]  # fmt: skip


def test_changes_after_matches_orm_on_random_history():
    """Random updates, deletions and returns of deleted records over two datasets: every page
    of the change log (random cursor and size) has the ORM's entries, states and order."""
    rng = random.Random(7)
    w, other = make_world(), make_world()
    keys = list(range(1, 24))
    for _round in range(6):
        for dataset in (w.dataset, other.dataset):
            changed = rng.sample(keys, 8)
            records_upsert(
                actor=SYSTEM,
                dataset=dataset,
                records=[company(n, employees=rng.randint(1, 99)) for n in changed],
            )
            records_delete(
                actor=SYSTEM,
                dataset=dataset,
                keys=[f"4000{n:07d}" for n in rng.sample(keys, 3)],
            )
    seqs = list(
        Change.objects.filter(dataset=w.dataset).order_by("seq").values_list("seq", flat=True)
    )
    assert {"created", "updated", "deleted"} <= set(
        Change.objects.filter(dataset=w.dataset).values_list("operation", flat=True)
    )
    assert RecordVersion.objects.filter(record__dataset=w.dataset).exists()
    assert sql_changes_after(w.dataset.pk, 0, 10_000) == orm_changes_after(w.dataset.pk, 0, 10_000)
    for _ in range(15):
        after, limit = rng.choice([0, *seqs]), rng.randint(1, 40)
        assert sql_changes_after(w.dataset.pk, after, limit) == orm_changes_after(
            w.dataset.pk, after, limit
        )


# --- the daily re-check --------------------------------------------------------------------------


def test_records_crossing_matches_the_python_predicate():
    """The re-check's SQL (records judged differently on two days) gives the ids the engine's
    Python predicate gives: live records of this dataset only, missing values included."""
    rng = random.Random(3)
    w, other = make_world(), make_world()
    today = timezone.localdate()

    def founded(n):
        if n % 9 == 0:
            return None  # no value: never satisfies a date condition
        return (today - timedelta(days=1000 + rng.randint(-6, 6))).isoformat()

    for dataset in (w.dataset, other.dataset):
        records_upsert(
            actor=SYSTEM,
            dataset=dataset,
            records=[company(n, founded=founded(n)) for n in range(30, 90)],
        )
    records_delete(actor=SYSTEM, dataset=w.dataset, keys=[f"4000{n:07d}" for n in range(30, 45)])
    schema = parse_schema(w.dataset.schema.definition)
    live = list(live_records(w.dataset))
    found = 0
    for op in ("older_than", "newer_than"):
        for days in (1000, 1003):
            conditions = validate_conditions(
                [{"field": "founded", "op": op, "value": {"days": days}}], schema
            )
            for since_back in (1, 3, 8):
                since = today - timedelta(days=since_back)
                before = compile_predicate(conditions, today=since)
                after = compile_predicate(conditions, today=today)
                expected = {r.pk for r in live if before(r.data) != after(r.data)}
                got = recheck.records_crossing(w.dataset.pk, conditions, since, today)
                assert got == expected
                found += len(expected)
    assert found  # the random data does cross
