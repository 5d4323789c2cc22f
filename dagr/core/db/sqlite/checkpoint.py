"""WAL checkpoints on SQLite, by the worker instead of by the requests.

In WAL mode a commit appends pages to the ``-wal`` file; a checkpoint copies them into the
database file and syncs both files (two ``fsync`` calls — ~3.5 ms each on the development
machine). By default SQLite runs one inside the COMMIT that takes the WAL past 1,000 pages, and
in DAGR that COMMIT holds the cross-process writer lock (``base.py``), so every writer waits for
it: with an access entry per request (~10 WAL pages each) that was a 3–22 ms stall (median
5.8 ms) about every 100 requests — most of the SQLite p99 (``docs/performance.md``, "SQLite
tail latency").

So the web processes' auto-checkpoint is only a safety net (``DAGR_SQLITE_AUTOCHECKPOINT_PAGES``
in ``PRAGMA wal_autocheckpoint``, settings), and the worker calls ``wal_checkpoint`` every
``DAGR_SQLITE_CHECKPOINT_S``:

1. a PASSIVE checkpoint without any lock: it copies what the WAL holds into the database file
   while requests keep writing (SQLite lets one checkpointer run beside the writer);
2. then, if the WAL holds ``DAGR_SQLITE_WAL_RESET_PAGES`` or more — after up to three more
   lock-free passes over what was written meanwhile, and a sync of the database file, so that
   little is left to copy and sync — one more PASSIVE checkpoint while holding the writer lock:
   no commit can append meanwhile, so it copies the few pages written since and the whole WAL is
   in the database file; the next writer then starts the WAL from its beginning again (SQLite
   restarts a fully checkpointed WAL by itself). Without this step a checkpoint never catches up
   with writers that append every millisecond, and the WAL file would grow for as long as
   requests keep coming.

A reader still reading an older snapshot when step 2 runs keeps the pages it may need in the WAL
(SQLite does not copy past it); the next run finishes the job. If the worker is not running,
the safety net bounds the WAL: the commit that takes it past that many pages checkpoints it, as
SQLite always did, under the writer lock — so completely — and the WAL restarts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

# Before the pass under the lock, further passes without it while each finds more than this
# many new pages, at most this many times.
_CATCH_UP_PAGES = 100
_CATCH_UP_PASSES = 3


@dataclass(frozen=True)
class Checkpoint:
    """What ``PRAGMA wal_checkpoint`` reported last: pages in the WAL and pages of it now in the
    database file; ``locked``: whether step 2 (under the writer lock) ran."""

    wal_pages: int
    checkpointed: int
    locked: bool


def _sync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _passive(db: BaseDatabaseWrapper) -> tuple[int, int]:
    with db.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _busy, wal_pages, checkpointed = cursor.fetchone()
    return int(wal_pages), int(checkpointed)


def wal_checkpoint(
    db: BaseDatabaseWrapper | None = None, *, reset_pages: int | None = None
) -> Checkpoint | None:
    """Checkpoint the WAL of ``db`` (the default database) — see the module docstring. ``None``
    for a database that has no WAL (PostgreSQL, in-memory SQLite)."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or db.is_in_memory_db():  # type: ignore[attr-defined]
        return None
    if db.in_atomic_block:
        raise RuntimeError("a checkpoint runs outside any transaction")
    if reset_pages is None:
        reset_pages = settings.DAGR_SQLITE_WAL_RESET_PAGES
    wal_pages, checkpointed = _passive(db)
    if wal_pages < 0:  # not in WAL mode
        return None
    if wal_pages < reset_pages:
        return Checkpoint(wal_pages, checkpointed, locked=False)
    # What step 2 copies under the lock, and syncs, is what was written since the last pass:
    # shrink it first (a pass over ~1 s of writes takes tens of ms, one over its tail a few).
    for _ in range(_CATCH_UP_PASSES):
        before = wal_pages
        wal_pages, checkpointed = _passive(db)
        if wal_pages - before <= _CATCH_UP_PAGES:
            break
    # SQLite syncs the database file only in a pass that reaches the WAL's end — step 2 — and
    # that sync would write out every page the passes above copied: done here, without the lock,
    # the sync under the lock has only step 2's own pages to write.
    _sync(str(db.settings_dict["NAME"]))
    lock = db._lock()  # type: ignore[attr-defined]  # dagr.core.db.sqlite's writer lock
    lock.acquire()
    try:
        wal_pages, checkpointed = _passive(db)
    finally:
        lock.release()
    return Checkpoint(wal_pages, checkpointed, locked=True)


def wal_checkpoint_periodic() -> None:
    """The worker's periodic job (``DAGR_PERIODIC_JOBS``, every ``DAGR_SQLITE_CHECKPOINT_S``)."""
    wal_checkpoint()
