"""While a load runs, Python's cyclic collector runs less often (``writer._fewer_gc_passes``): the
first generation's threshold is raised for the load and the previous thresholds come back when
the last load of the process ends — also when a load fails."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from dagr.core.actors import SYSTEM
from dagr.core.errors import ValidationError
from dagr.records import services, writer
from tests.records.factories import make_dataset
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def known_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def watching(rows: list[dict[str, Any]], seen: list[tuple[int, int, int]]) -> Iterator[Any]:
    for row in rows:
        seen.append(gc.get_threshold())
        yield row


def test_a_load_raises_the_threshold_and_restores_it():
    seen: list[tuple[int, int, int]] = []
    load = services.records_upsert(
        actor=SYSTEM, dataset=make_dataset(), records=watching(companies(5), seen)
    )
    assert load.created == 5
    assert set(seen) == {(writer.GC_LOAD_THRESHOLD, 10, 10)}
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.isenabled()


def test_a_failed_load_restores_the_threshold():
    rows = [*companies(3), {"registration_number": "x"}]
    with pytest.raises(ValidationError):
        services.records_upsert(actor=SYSTEM, dataset=make_dataset(), records=iter(rows))
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_loads_restore_the_threshold_when_the_last_ends():
    inside, release = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def other() -> None:
        with writer._fewer_gc_passes():  # another load of the process, in another thread
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with writer._fewer_gc_passes():
        seen.append(gc.get_threshold())
    seen.append(gc.get_threshold())  # the other load still runs
    release.set()
    thread.join(10)
    assert seen == [(writer.GC_LOAD_THRESHOLD, 10, 10)] * 2
    assert gc.get_threshold() == (700, 10, 10)


def test_collection_switched_off_stays_off():
    gc.set_threshold(0, 10, 10)
    with writer._fewer_gc_passes():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)
