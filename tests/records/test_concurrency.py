"""Concurrent loads on PostgreSQL: loads of one dataset wait for each other, so change sequence
numbers commit in order and a reader following the log by ``seq`` misses nothing."""

from __future__ import annotations

import itertools
import threading
import time
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


def test_a_reader_polling_during_several_concurrent_loads_sees_every_entry_once_in_order():
    """Four loaders (upserts with updates, a snapshot and deletes) on one dataset and one on
    another dataset commit concurrently while a reader follows the first dataset's change log
    by ``seq``: the reader must see every entry exactly once, in ``seq`` order, and must have
    seen entries while the loads were still running."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE; this is about PostgreSQL")
    dataset, other = make_dataset(), make_dataset()
    rows = companies(4000)
    start = threading.Barrier(6)
    loaders_done = threading.Event()
    results: list[Any] = []
    seen: list[Any] = []
    polls_during_loads = 0

    def slow(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for i, item in enumerate(items):
            if i % 700 == 0:
                time.sleep(0.02)  # long transactions, so that the loads really overlap
            yield item

    def loader(n: int) -> None:
        try:
            start.wait(10)
            mine = rows[n * 1000 : (n + 1) * 1000]
            for round_ in range(3):
                changed = [{**row, "employees": row["employees"] + round_} for row in mine]
                if n == 1:  # some updates of another loader's records as well
                    changed += [{**row, "name": f"Pārdēvēts {round_}"} for row in rows[:50]]
                results.append(
                    services.records_upsert(actor=SYSTEM, dataset=dataset, records=slow(changed))
                )
            keys = [row["registration_number"] for row in mine[:100]]
            results.append(services.records_delete(actor=SYSTEM, dataset=dataset, keys=keys))
        except Exception as exc:  # reported by the assertions below
            results.append(exc)
        finally:
            connections.close_all()

    def other_loader() -> None:
        try:
            start.wait(10)
            for _ in range(3):
                services.records_upsert(actor=SYSTEM, dataset=other, records=slow(rows[:1500]))
        except Exception as exc:
            results.append(exc)
        finally:
            connections.close_all()

    def reader() -> None:
        nonlocal polls_during_loads
        try:
            start.wait(10)
            last = 0
            while True:
                finished = loaders_done.is_set()  # read before polling: then one last drain
                page = selectors.change_list(dataset=dataset, after_seq=last, limit=300)
                if page:
                    seen.extend((c.seq, c.load_id, c.record_key, c.operation) for c in page)
                    last = page[-1].seq
                    if not finished:
                        polls_during_loads += 1
                elif finished:
                    return
                time.sleep(0.005)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=loader, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=other_loader), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads[:5]:
        thread.join(120)
    loaders_done.set()
    threads[5].join(60)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    stored = list(
        Change.objects.filter(dataset=dataset)
        .order_by("seq")
        .values_list("seq", "load_id", "record_key", "operation")
    )
    loads = [r for r in results if r.dataset_id == dataset.pk]
    assert len(loads) == 4 * 4
    assert len(stored) == sum(r.created + r.updated + r.deleted for r in loads) > 12_000
    seqs = [entry[0] for entry in seen]
    assert seqs == sorted(set(seqs)), "every entry once, in sequence order"
    assert seen == stored, "the reader missed nothing"
    assert polls_during_loads >= 3, "the reader followed the log while loads were committing"
    # The loads of one dataset did not interleave: each load's entries are one block of seq.
    blocks: dict[int, list[int]] = {}
    for seq, load_id, _key, _op in stored:
        blocks.setdefault(load_id, []).append(seq)
    spans = sorted((min(s), max(s)) for s in blocks.values())
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
