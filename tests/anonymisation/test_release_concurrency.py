"""Two release requests at the same moment on PostgreSQL (SQLite serialises every write
transaction with BEGIN IMMEDIATE, so the race cannot happen there): the second request waits
for the first one's transaction, then either takes the next release number (other datasets) or
is refused because the first release is being built (the same dataset)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections

from dagr.anonymisation import services
from dagr.anonymisation.models import Release
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict
from dagr.records.services import records_upsert
from tests.anonymisation.conftest import persons
from tests.factories import make_dataset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _waiting_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return int(cursor.fetchone()[0])


def _race(world: Any, monkeypatch: Any, first: list[Any], second: list[Any]) -> dict[str, Any]:
    """``first`` is requested and held just before its commit (its release row written) until
    ``second``'s request waits on a lock; then both go on. The outcome of each request."""
    held, results = threading.Event(), {}
    original = services.admin_entry_create

    def entry_then_hold(**kwargs: Any) -> Any:
        entry = original(**kwargs)
        if threading.current_thread().name == "first":
            held.set()
            deadline = time.monotonic() + 20
            while not results.get("second_waits") and time.monotonic() < deadline:
                time.sleep(0.01)
        return entry

    monkeypatch.setattr(services, "admin_entry_create", entry_then_hold)

    def request(name: str, datasets: list[Any]) -> None:
        try:
            results[name] = services.release_request(actor=world.user, datasets=datasets)
        except Exception as exc:  # reported by the assertions of the caller
            results[name] = exc
        finally:
            connections.close_all()

    one = threading.Thread(target=request, args=("first", first), name="first")
    one.start()
    assert held.wait(20)
    two = threading.Thread(target=request, args=("second", second), name="second")
    two.start()
    deadline = time.monotonic() + 20
    while _waiting_locks() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert two.is_alive(), "the second request must wait for the first one's transaction"
    results["second_waits"] = True
    one.join(30)
    two.join(30)
    return results


@pytest.fixture
def queued(world: Any, settings: Any) -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer with BEGIN IMMEDIATE; this is about PostgreSQL")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # not built
    return world


def test_requests_for_other_datasets_at_once_get_consecutive_numbers(queued, monkeypatch):
    other = make_dataset(provider=queued.provider, code="iedzivotaji-otra", status="production")
    records_upsert(actor=SYSTEM, dataset=other, records=persons(30))
    results = _race(queued, monkeypatch, [queued.dataset], [other])
    assert isinstance(results["first"], Release), results["first"]
    assert isinstance(results["second"], Release), results["second"]
    assert sorted(Release.objects.values_list("number", flat=True)) == [1, 2]
    assert results["first"].number == 1 and results["second"].number == 2


def test_a_second_request_for_the_same_dataset_at_once_is_refused(queued, monkeypatch):
    results = _race(queued, monkeypatch, [queued.dataset], [queued.dataset])
    assert isinstance(results["first"], Release), results["first"]
    assert isinstance(results["second"], Conflict), results["second"]
    assert results["second"].code == "release_running"
    assert Release.objects.count() == 1
