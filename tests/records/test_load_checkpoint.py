"""A load's COMMIT on SQLite leaves the WAL checkpoint to the worker's job (``bulk_session``), on
a database file of its own (the ``walfile`` fixture, ``tests/walfile.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db.backends.base.base import BaseDatabaseWrapper

from dagr.core.db.sqlite import checkpoint
from dagr.records import writer
from tests.walfile import insert, rows_in_database_file


def autocheckpoint(db: BaseDatabaseWrapper) -> int:
    with db.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return int(cursor.fetchone()[0])


def test_a_load_commits_without_checkpointing_and_the_worker_job_does_it(
    walfile: BaseDatabaseWrapper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with walfile.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint = 50")  # a small safety net for the test
    monkeypatch.setattr(writer, "connection", walfile)
    with writer.bulk_session():
        assert autocheckpoint(walfile) == 0
        insert(walfile, 300, per_transaction=300)  # one load: 6× the safety net
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
    with walfile.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint = 50")
    insert(walfile, 300, per_transaction=300)
    assert rows_in_database_file(walfile, tmp_path) == 300
