"""A SQLite database file in WAL mode for the tests of checkpoints (a WAL needs a file; the suite's
SQLite database is in memory): the ``walfile`` fixture (``tests/conftest.py``) opens one with the
settings' connection options and a table ``t``; these write and inspect it."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ConnectionHandler

ROW = "x" * 3000  # most of a 4 KB page: one page per row


@contextmanager
def wal_database(path: Path) -> Iterator[BaseDatabaseWrapper]:
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "dagr.core.db.sqlite",
                "NAME": str(path),
                "OPTIONS": settings.DAGR_SQLITE_OPTIONS,
                "CONN_MAX_AGE": None,
            }
        }
    )
    wrapper = handler["default"]
    with wrapper.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table in the file itself
    try:
        yield wrapper
    finally:
        wrapper.close()


def insert(db: BaseDatabaseWrapper, rows: int, per_transaction: int = 10) -> None:
    """Commits as a request's access entry does (``dagr.audit.access``) — or a load, with
    ``per_transaction=rows`` —: ``BEGIN IMMEDIATE`` … ``COMMIT`` under the backend's writer
    lock."""
    db.ensure_connection()
    lock = db._lock()  # type: ignore[attr-defined]
    for _ in range(0, rows, per_transaction):
        lock.acquire()
        try:
            db.connection.execute("BEGIN IMMEDIATE")
            db.connection.executemany("INSERT INTO t (v) VALUES (?)", [(ROW,)] * per_transaction)
            db.connection.execute("COMMIT")
        finally:
            lock.release()


def wal_pages(db: BaseDatabaseWrapper) -> int:
    """Frames in the WAL now (a PASSIVE checkpoint reports it; here nothing is left to copy)."""
    with db.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return int(cursor.fetchone()[1])


def rows_in_database_file(db: BaseDatabaseWrapper, tmp_path: Path) -> int:
    """What the database file holds by itself, without its WAL: a copy of the file alone."""
    alone = tmp_path / f"alone-{time.monotonic_ns()}.sqlite3"
    shutil.copyfile(str(db.settings_dict["NAME"]), alone)
    with sqlite3.connect(alone) as plain:
        return int(plain.execute("SELECT COUNT(*) FROM t").fetchone()[0])
