"""After a large load PostgreSQL's planner statistics are refreshed at once."""

import pytest
from django.db import connection

from dagr.core.actors import SYSTEM
from dagr.core.identifiers import make_new_personal_code
from dagr.records import loads, services
from tests.factories import make_dataset

pytestmark = pytest.mark.django_db


def test_large_load_refreshes_planner_statistics(monkeypatch, django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are a PostgreSQL matter; runs in the PostgreSQL suite")
    monkeypatch.setattr(loads, "ANALYZE_AFTER_ROWS", 50)
    dataset = make_dataset(code="statistika")
    records = [
        {"personal_code": make_new_personal_code(n), "last_name": "Ozols"} for n in range(120)
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=records)
    assert any(cb.__name__ == "_refresh_statistics" for cb in callbacks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'records_record'")
        assert cursor.fetchone()[0] >= 120


def test_no_planner_statistics_are_kept_for_the_whole_record_document():
    """``data`` (the whole JSON document) has statistics target 0; the columns lookups filter
    on keep theirs, so a load's ``ANALYZE`` still gives the planner what it uses."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are a PostgreSQL matter; runs in the PostgreSQL suite")
    dataset = make_dataset(code="statistika2")
    services.records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[
            {"personal_code": make_new_personal_code(n), "last_name": "Ozols"} for n in range(30)
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE records_record")
        cursor.execute(
            "SELECT attname, attstattarget FROM pg_attribute "
            "WHERE attrelid = 'records_record'::regclass AND attname IN ('data', 'key')"
        )
        targets = dict(cursor.fetchall())
        cursor.execute(
            "SELECT attname FROM pg_stats WHERE tablename = 'records_record' "
            "AND attname IN ('data', 'key', 'dataset_id')"
        )
        analysed = {row[0] for row in cursor.fetchall()}
    assert targets["data"] == 0
    assert targets["key"] in (-1, None)  # the default (NULL from PostgreSQL 17 on)
    assert analysed == {"key", "dataset_id"}
