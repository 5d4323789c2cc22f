"""The change feed while loads run concurrently (PostgreSQL, where writers really overlap): a
reader following the feed with small pages during two loaders' work never sees a change twice
or out of order, and ends with exactly what the grant shows."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from dagr.core.actors import SYSTEM
from dagr.records.services import records_delete, records_upsert
from dagr.retrieval import services

from .factories import company, make_world
from .test_changes import apply, visible_now

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_a_reader_following_the_feed_during_concurrent_loads_misses_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE; this is about PostgreSQL")
    w = make_world()
    dataset = w.dataset
    done = threading.Event()
    errors: list[BaseException] = []

    def loader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(12):
                batch = {}
                for _ in range(rng.randint(1, 25)):
                    n = rng.randint(1, 60)
                    batch[n] = company(
                        n, active=rng.random() > 0.3, employees=rng.choice([3, 10, 50]),
                        name=f"SIA {rng.randint(1, 9)}", secret_note=str(rng.random()),
                    )  # fmt: skip
                records_upsert(actor=SYSTEM, dataset=dataset, records=list(batch.values()))
                gone = [f"4000{rng.randint(1, 60):07d}" for _ in range(rng.randint(0, 3))]
                if gone:
                    records_delete(actor=SYSTEM, dataset=dataset, keys=gone)
                time.sleep(rng.random() / 100)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    caller = services.Caller(
        institution_id=w.recipient.pk, connection_id=w.connection.pk, label="test"
    )
    copy: dict[str, dict[str, Any]] = {}
    ids: list[int] = []
    rng = random.Random(99)

    def read_page(cursor: str | None) -> tuple[str, bool]:
        page = services.records_changes(
            caller=caller,
            dataset_code=dataset.code,
            permission_number="ATL-1",
            cursor=cursor,
            limit=rng.randint(1, 7),
        )
        ids.extend(c["id"] for c in page.changes)
        apply(copy, page.changes)
        return page.next_cursor, page.has_more

    loaders = [threading.Thread(target=loader, args=(seed,)) for seed in (1, 2)]
    for thread in loaders:
        thread.start()
    cursor: str | None = None
    pages = 0
    while any(t.is_alive() for t in loaders):
        cursor, _more = read_page(cursor)
        pages += 1
    for thread in loaders:
        thread.join()
    done.set()
    assert not errors, errors
    more = True
    while more:
        cursor, more = read_page(cursor)
        pages += 1
    assert pages > 10  # the reader really read while the loaders wrote
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert copy == visible_now(w)
