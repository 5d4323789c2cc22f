"""Size on disk per dataset: measured by the worker from the database's own figures, stored,
and shown on the datasets page without measuring anything there."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dagr.catalog.models import Dataset
from dagr.dashboard.models import DatasetSize, RollupCursor
from dagr.dashboard.services import _table_bytes, dataset_sizes_measure, stats_periodic
from dagr.records.models import Record

from .conftest import World

pytestmark = pytest.mark.django_db


def fill(dataset: Dataset, n: int, width: int, start: int = 0) -> None:
    now = timezone.now()
    Record.objects.bulk_create(
        Record(
            dataset=dataset, key=f"k{i:06d}",
            data={"v": random.Random(i).randbytes(width // 2).hex(), "i": i},
            content_hash=f"{i:032d}", created_at=now, updated_at=now,
        )
        for i in range(start, start + n)
    )  # fmt: skip


def test_sizes_follow_the_data_and_add_up_to_the_table(world: World) -> None:
    fill(world.persons, 300, 2000)
    fill(world.other_persons, 300, 50)
    sizes = dataset_sizes_measure()
    big, small = sizes[world.persons.pk], sizes[world.other_persons.pk]
    assert big > 3 * small > 0
    assert big >= 300 * 1000  # at least the data itself, even compressed (random hex)
    stored = {s.dataset_id: s for s in DatasetSize.objects.all()}
    assert stored[world.persons.pk].bytes == big
    measured = _table_bytes(Record._meta.db_table)
    if measured is not None:  # PostgreSQL; SQLite with dbstat
        total, method = measured
        assert stored[world.persons.pk].method == method
        assert (
            method == {"postgresql": "pg", "sqlite": "dbstat", "mysql": "mysql"}[connection.vendor]
        )
        assert abs(sum(sizes.values()) - total) <= len(sizes)  # rounding only
    else:
        assert stored[world.persons.pk].method == "estimate"


def test_a_dataset_without_records_has_no_size(world: World) -> None:
    fill(world.persons, 10, 100)
    dataset_sizes_measure()
    Record.objects.filter(dataset=world.persons).delete()
    fill(world.other_persons, 10, 100)
    dataset_sizes_measure()
    assert set(DatasetSize.objects.values_list("dataset_id", flat=True)) == {world.other_persons.pk}


def test_the_worker_measures_at_most_every_interval(world: World, settings: Any) -> None:
    settings.DAGR_STATS_SIZE_INTERVAL_S = 3600
    fill(world.persons, 10, 100)
    now = timezone.now()
    stats_periodic(now=now)
    first = DatasetSize.objects.get(dataset_id=world.persons.pk).bytes
    fill(world.persons, 2000, 2000, start=10)  # grows a lot
    stats_periodic(now=now + timedelta(minutes=10))
    assert DatasetSize.objects.get(dataset_id=world.persons.pk).bytes == first
    stats_periodic(now=now + timedelta(hours=1, minutes=1))
    assert DatasetSize.objects.get(dataset_id=world.persons.pk).bytes > first
    assert RollupCursor.objects.filter(name="sizes").exists()


def test_the_datasets_page_shows_the_stored_size_without_measuring(
    world: World, client: Client
) -> None:
    fill(world.persons, 50, 3000)
    dataset_sizes_measure()
    DatasetSize.objects.filter(dataset_id=world.persons.pk).update(bytes=5 * 1024 * 1024)
    client.force_login(world.admin)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/statistics/datasets/", headers={"accept-language": "en"})
    assert response.status_code == 200
    assert "5.0\xa0MB" in response.content.decode()
    assert "Size on disk" in response.content.decode()
    sql = " ".join(q["sql"] for q in queries.captured_queries).lower()
    assert "dbstat" not in sql and "pg_total_relation_size" not in sql
    assert "length(" not in sql and "pg_column_size" not in sql


def test_without_the_databases_figure_the_row_bytes_are_the_estimate(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite built without dbstat: ``_table_bytes`` has nothing to say."""
    from dagr.dashboard import services

    fill(world.persons, 20, 1000)
    monkeypatch.setattr(services, "_table_bytes", lambda table: None)
    sizes = dataset_sizes_measure()
    assert DatasetSize.objects.get(dataset_id=world.persons.pk).method == "estimate"
    assert 20 * 1000 < sizes[world.persons.pk] < 20 * 1000 + 20 * 200


def test_the_size_column_in_latvian(world: World, client: Client) -> None:
    fill(world.persons, 5, 100)
    dataset_sizes_measure()
    client.force_login(world.admin)
    page = client.get("/statistics/datasets/", headers={"accept-language": "lv"}).content.decode()
    assert "Apjoms diskā" in page
