"""Two loads of one dataset at the same time on PostgreSQL: the second waits for the first, so
change sequence numbers commit in order and a reader following the log misses nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from dagr.core.actors import SYSTEM
from dagr.records import selectors, services
from dagr.records.models import Change
from tests.records.factories import make_dataset
from tests.records.test_services import companies

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_concurrent_loads_of_one_dataset_commit_their_changes_in_sequence_order():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE; this is about PostgreSQL")
    dataset = make_dataset()
    rows = companies(3000)
    first_rows, second_rows = rows[:2000], rows[2000:]
    first_wrote = threading.Event()
    release_first = threading.Event()
    results: dict[str, Any] = {}

    def paused(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for i, item in enumerate(items):
            if i == 1500:  # a batch of 1,000 is written, uncommitted; hold the lock here
                first_wrote.set()
                assert release_first.wait(20)
            yield item

    def run(name: str, items: Any) -> None:
        try:
            results[name] = services.records_upsert(actor=SYSTEM, dataset=dataset, records=items)
        except Exception as exc:  # reported by the assertions below
            results[name] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=("first", paused(first_rows)))
    first.start()
    assert first_wrote.wait(20)
    second = threading.Thread(target=run, args=("second", second_rows))
    second.start()
    second.join(1.0)
    assert second.is_alive(), "the second load must wait for the first one's lock"

    # A reader following the log sees nothing uncommitted.
    seen = selectors.change_list(dataset=dataset, after_seq=0, limit=10_000)
    assert seen == []

    release_first.set()
    first.join(30)
    second.join(30)
    assert results["first"].created == 2000 and results["second"].created == 1000

    changes = list(Change.objects.filter(dataset=dataset).order_by("seq"))
    first_seqs = [c.seq for c in changes if c.load_id == results["first"].pk]
    second_seqs = [c.seq for c in changes if c.load_id == results["second"].pk]
    assert len(first_seqs) == 2000 and len(second_seqs) == 1000
    assert max(first_seqs) < min(second_seqs)
