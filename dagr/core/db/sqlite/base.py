"""SQLite backend with a fair, prompt write lock across processes.

SQLite lets one writer in at a time; the others retry inside ``sqlite3_busy_timeout``, which
sleeps 1, 2, 5, 10 … 100 ms between attempts. With several web processes each writing an audit
entry per request, those sleeps — not the work — set the latency (p99 of hundreds of ms on this
machine). Here every write transaction (``BEGIN IMMEDIATE``, see settings) first takes an
exclusive lock on a file next to the database (``fcntl.flock``) plus a per-process thread lock,
polled at sub-millisecond intervals, and releases it right after COMMIT/ROLLBACK; SQLite's own
lock is then always free when we ask for it. Nothing else changes: same files, same SQL.
In-memory databases (tests) have no file and skip the file lock. Hand-written because Python's
``sqlite3`` exposes no custom busy handler and no library offers this for Django.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

LOCK_TIMEOUT_S = 20.0
LOCK_PAUSE_MAX_S = 0.002  # the longest pause between two polls


class _WriteLock:
    """A process-wide writer lock for one database file: a thread lock, then a file lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.thread_lock = threading.Lock()
        self.fd: int | None = None
        self.pid = os.getpid()

    def _file(self) -> int:
        if self.fd is None or self.pid != os.getpid():  # a forked child opens its own
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.pid = os.getpid()
        return self.fd

    def acquire(self) -> None:
        deadline = time.monotonic() + LOCK_TIMEOUT_S
        if not self.thread_lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise OperationalError("database is locked (writer lock timeout)")
        try:
            fd, pause = self._file(), 0.0001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OperationalError("database is locked (writer lock timeout)") from None
                    time.sleep(pause)
                    pause = min(pause * 2, LOCK_PAUSE_MAX_S)
        except BaseException:
            self.thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.thread_lock.release()


_locks: dict[str, _WriteLock] = {}
_locks_guard = threading.Lock()


def write_lock_for(database: str) -> _WriteLock:
    path = os.path.abspath(database) + ".writelock"
    with _locks_guard:
        if path not in _locks:
            _locks[path] = _WriteLock(path)
        return _locks[path]


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock: _WriteLock | None = None
        self._holds_write_lock = False

    def _lock(self) -> _WriteLock | None:
        if self._write_lock is None and not self.is_in_memory_db():
            self._write_lock = write_lock_for(str(self.settings_dict["NAME"]))
        return self._write_lock

    def _start_transaction_under_autocommit(self) -> None:
        lock = self._lock()
        if lock is not None and not self._holds_write_lock:
            lock.acquire()
            self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private in Django, absent from django-stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock and self._write_lock is not None:
            self._holds_write_lock = False
            self._write_lock.release()

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]  # private in Django, absent from django-stubs
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]  # private in Django, absent from django-stubs
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]  # private in Django, absent from django-stubs
        finally:
            self._release_write_lock()
