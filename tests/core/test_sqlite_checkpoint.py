"""SQLite WAL checkpoints: by the worker's job, not by the requests' commits
(``dagr.core.db.sqlite.checkpoint``), with the commits' auto-checkpoint as a safety net.

These run on a database file of their own (a WAL needs a file; the suite's SQLite database is in
memory), with the settings' connection options — on the PostgreSQL run of the suite as well.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from dagr.core.db.sqlite import base, checkpoint
from tests.walfile import ROW, insert, rows_in_database_file, wal_pages


def test_the_connections_leave_checkpoints_to_the_worker(walfile: BaseDatabaseWrapper):
    with walfile.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 1  # NORMAL
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == settings.DAGR_SQLITE_AUTOCHECKPOINT_PAGES > 1000
        cursor.execute("PRAGMA journal_size_limit")
        assert cursor.fetchone()[0] == settings.DAGR_SQLITE_WAL_SIZE_LIMIT
    job = "dagr.core.db.sqlite.checkpoint.wal_checkpoint_periodic"
    assert (job in settings.DAGR_PERIODIC_JOBS) == (connection.vendor == "sqlite")
    if job in settings.DAGR_PERIODIC_JOBS:
        assert settings.DAGR_PERIODIC_JOBS[job] == settings.DAGR_SQLITE_CHECKPOINT_S


def test_commits_no_longer_checkpoint_every_thousand_pages(walfile: BaseDatabaseWrapper):
    insert(walfile, 1500)
    assert wal_pages(walfile) >= 1500  # SQLite's default would have checkpointed and restarted


def test_the_job_checkpoints_and_under_the_lock_the_wal_starts_over(
    walfile: BaseDatabaseWrapper, tmp_path: Path, monkeypatch: Any
):
    insert(walfile, 300)
    assert rows_in_database_file(walfile, tmp_path) == 0  # all of it still in the WAL
    locked: list[bool] = []
    acquire = base._WriteLock.acquire
    monkeypatch.setattr(
        base._WriteLock, "acquire", lambda self: (locked.append(True), acquire(self))[1]
    )
    done = checkpoint.wal_checkpoint(walfile, reset_pages=100)
    assert done is not None and done.locked and locked == [True]
    assert done.checkpointed == done.wal_pages >= 300
    assert rows_in_database_file(walfile, tmp_path) == 300
    insert(walfile, 10)  # the next writer starts the WAL from its beginning
    assert wal_pages(walfile) < 50


def test_below_the_reset_size_the_job_checkpoints_without_the_lock(
    walfile: BaseDatabaseWrapper, tmp_path: Path, monkeypatch: Any
):
    insert(walfile, 200)

    def refuse(self: Any) -> None:
        raise AssertionError("the writer lock was taken")

    monkeypatch.setattr(base._WriteLock, "acquire", refuse)
    done = checkpoint.wal_checkpoint(walfile, reset_pages=10_000)
    assert done is not None and not done.locked
    assert done.checkpointed == done.wal_pages >= 200  # no writer meanwhile: all of it copied
    assert rows_in_database_file(walfile, tmp_path) == 200


def test_the_pass_under_the_lock_waits_for_a_writer_and_copies_its_commit(
    walfile: BaseDatabaseWrapper, tmp_path: Path
):
    insert(walfile, 100)
    lock = base.write_lock_for(str(walfile.settings_dict["NAME"]))
    held = threading.Event()
    released_at: list[float] = []

    def writer() -> None:
        # Another process's request: holds the writer lock, then commits rows, then releases.
        lock.acquire()
        held.set()
        try:
            time.sleep(0.2)
            with sqlite3.connect(str(walfile.settings_dict["NAME"]), isolation_level=None) as raw:
                raw.execute("BEGIN IMMEDIATE")
                raw.executemany("INSERT INTO t (v) VALUES (?)", [(ROW,)] * 50)
                raw.execute("COMMIT")
        finally:
            released_at.append(time.monotonic())
            lock.release()

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(5)
    done = checkpoint.wal_checkpoint(walfile, reset_pages=1)
    finished_at = time.monotonic()
    thread.join()
    assert done is not None and done.locked
    assert released_at and finished_at >= released_at[0]  # it waited for the writer's commit
    assert done.checkpointed == done.wal_pages
    assert rows_in_database_file(walfile, tmp_path) == 150


def test_without_the_worker_the_commits_bound_the_wal(walfile: BaseDatabaseWrapper, tmp_path: Path):
    """The safety net: the commit that takes the WAL past ``wal_autocheckpoint`` pages
    checkpoints it — under the writer lock, so completely — and the WAL starts over, so its file
    stays bounded (here with a small limit; the settings' is
    ``DAGR_SQLITE_AUTOCHECKPOINT_PAGES``)."""
    with walfile.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=100")
    wal = Path(str(walfile.settings_dict["NAME"]) + "-wal")
    largest = 0
    for _ in range(20):
        insert(walfile, 100)
        largest = max(largest, wal.stat().st_size)
    assert largest < 150 * 4200  # ~100 pages and one transaction, never the 2,000 written
    assert rows_in_database_file(walfile, tmp_path) >= 1900


@pytest.mark.django_db
def test_no_checkpoint_without_a_wal_nor_inside_a_transaction(walfile: BaseDatabaseWrapper):
    assert checkpoint.wal_checkpoint(connection) is None  # the suite's in-memory or PostgreSQL
    checkpoint.wal_checkpoint_periodic()  # and the worker's job does nothing there either
    walfile.in_atomic_block = True
    try:
        with pytest.raises(RuntimeError):
            checkpoint.wal_checkpoint(walfile)
    finally:
        walfile.in_atomic_block = False
