"""A load's COMMIT on SQLite leaves the WAL checkpoint to the worker's job (``bulk_session``).

On a database file of its own (a WAL needs a file; the suite's SQLite database is in memory),
with the settings' connection options — on the PostgreSQL run of the suite as well."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler

from dagr.core.db.sqlite import checkpoint
from dagr.records import writer

ROW = "x" * 3000  # most of a 4 KB page: one page per row


@pytest.fixture
def walfile(tmp_path: Path, django_db_blocker: Any) -> Iterator[BaseDatabaseWrapper]:
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "dagr.core.db.sqlite",
                "NAME": str(tmp_path / "load.sqlite3"),
                "OPTIONS": settings.DAGR_SQLITE_OPTIONS,
                "CONN_MAX_AGE": None,
            }
        }
    )
    wrapper = handler["default"]
    with django_db_blocker.unblock():
        with wrapper.cursor() as cursor:
            cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("PRAGMA wal_autocheckpoint = 50")  # a small safety net for the test
        yield wrapper
        wrapper.close()


def rows_in_database_file(db: BaseDatabaseWrapper, tmp_path: Path) -> int:
    alone = tmp_path / "alone.sqlite3"
    shutil.copyfile(str(db.settings_dict["NAME"]), alone)
    with sqlite3.connect(alone) as plain:
        return int(plain.execute("SELECT COUNT(*) FROM t").fetchone()[0])


def load(db: BaseDatabaseWrapper, rows: int) -> None:
    """One transaction of ``rows`` pages, as a load writes (``BEGIN IMMEDIATE`` … ``COMMIT``
    under the backend's writer lock)."""
    lock = db._lock()  # type: ignore[attr-defined]
    lock.acquire()
    try:
        db.connection.execute("BEGIN IMMEDIATE")
        db.connection.executemany("INSERT INTO t (v) VALUES (?)", [(ROW,)] * rows)
        db.connection.execute("COMMIT")
    finally:
        lock.release()


def autocheckpoint(db: BaseDatabaseWrapper) -> int:
    with db.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return int(cursor.fetchone()[0])


def test_a_load_commits_without_checkpointing_and_the_worker_job_does_it(
    walfile: BaseDatabaseWrapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(writer, "connection", walfile)
    with writer.bulk_session():
        assert autocheckpoint(walfile) == 0
        load(walfile, 300)  # 6× the connection's auto-checkpoint limit
    assert autocheckpoint(walfile) == 50  # the connection's own setting is back
    assert rows_in_database_file(walfile, tmp_path) == 0  # all of it still in the WAL
    with walfile.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM t")
        assert cursor.fetchone()[0] == 300  # committed and visible
    checkpoint.wal_checkpoint(walfile, reset_pages=10**9)
    assert rows_in_database_file(walfile, tmp_path) == 300


def test_outside_a_load_the_commit_still_checkpoints_past_the_safety_net(
    walfile: BaseDatabaseWrapper, tmp_path: Path
):
    load(walfile, 300)
    assert rows_in_database_file(walfile, tmp_path) == 300
