"""Where the SQLite tail latency of GET-by-identifier comes from: DAGR's WSGI application with
timing probes, for ``bench/sqlite_tail.py`` (not part of the product).

Per request (one line each, written by a background thread every 0.5 s to
``$TAIL_LOG_DIR/<role>-<pid>.tsv``): wall-clock start, total time in the application, time
waiting for the cross-process writer lock, time holding it (BEGIN … COMMIT, so a WAL
auto-checkpoint run by COMMIT is in it), whether the database file was written while this
request held the lock (only a checkpoint writes it in WAL mode), time in cyclic GC and the
oldest generation collected. The index/checkpoint process (``role=job``) writes each of its
lock holds the same way, so a slow request can be matched with what held the lock meanwhile.

The variants (environment, read at start):
- ``TAIL_AUTOCHECKPOINT=N``: ``PRAGMA wal_autocheckpoint=N`` on every new connection;
- ``TAIL_GC_FREEZE=1``: ``gc.freeze()`` after the application is loaded;
- ``TAIL_LOCK_PAUSE_MAX_S``: the writer lock's longest polling pause.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

_LOG_DIR = os.environ.get("TAIL_LOG_DIR", "")
_ROLE = os.environ.get("TAIL_ROLE", "web")
_rows: list[str] = []
_state = threading.local()
_gc_started = 0.0
_gc_in_request = [0.0, -1]  # seconds, oldest generation


def _gc_callback(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.perf_counter()
    else:
        spent = time.perf_counter() - _gc_started
        _gc_in_request[0] += spent
        _gc_in_request[1] = max(_gc_in_request[1], info["generation"])


def _flusher() -> None:
    path = os.path.join(_LOG_DIR, f"{_ROLE}-{os.getpid()}.tsv")
    while True:
        time.sleep(0.5)
        if _rows:
            batch = _rows[:]
            del _rows[: len(batch)]
            with open(path, "a") as out:
                out.write("".join(batch))


def _install_lock_probe() -> None:
    from dagr.core.db.sqlite import base

    cls = base._WriteLock
    acquire, release = cls.acquire, cls.release
    if os.environ.get("TAIL_LOCK_PAUSE_MAX_S") and hasattr(base, "LOCK_PAUSE_MAX_S"):
        base.LOCK_PAUSE_MAX_S = float(os.environ["TAIL_LOCK_PAUSE_MAX_S"])
    db_path = ""

    def timed_acquire(self: Any) -> None:
        nonlocal db_path
        if not db_path:
            db_path = self.path.removesuffix(".writelock")
        started = time.perf_counter()
        acquire(self)
        _state.acquired = time.perf_counter()
        _state.acquired_wall = time.time()
        _state.wait = getattr(_state, "wait", 0.0) + _state.acquired - started
        _state.mtime = os.stat(db_path).st_mtime_ns

    def timed_release(self: Any) -> None:
        release(self)
        held = time.perf_counter() - _state.acquired
        _state.held = getattr(_state, "held", 0.0) + held
        written = os.stat(db_path).st_mtime_ns != _state.mtime
        _state.ckpt = getattr(_state, "ckpt", False) or written
        if _ROLE == "job":
            _rows.append(
                f"hold\t{_state.acquired_wall:.6f}\t{held * 1e3:.3f}\t{int(written)}"
                f"\t{threading.current_thread().name}\n"
            )

    cls.acquire, cls.release = timed_acquire, timed_release  # type: ignore[method-assign]


def _install_autocheckpoint() -> None:
    value = os.environ.get("TAIL_AUTOCHECKPOINT")
    if not value:
        return
    from django.db.backends.signals import connection_created

    def pragma(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            connection.connection.execute(f"PRAGMA wal_autocheckpoint={int(value)}")

    connection_created.connect(pragma, weak=False)


def _install_checkpoint_probe() -> None:
    from dagr.core.db.sqlite import checkpoint

    run = checkpoint.wal_checkpoint

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, started = time.time(), time.perf_counter()
        done = run(*args, **kwargs)
        spent = (time.perf_counter() - started) * 1e3
        if done is not None:
            _rows.append(
                f"ckpt\t{wall:.6f}\t{spent:.3f}\t{done.wal_pages}\t{done.checkpointed}"
                f"\t{int(done.locked)}\n"
            )
        return done

    checkpoint.wal_checkpoint = timed  # type: ignore[assignment]


def setup() -> None:
    """Probes for any DAGR process (web or job); call after ``django.setup()``."""
    if _LOG_DIR:
        threading.Thread(target=_flusher, daemon=True).start()
        gc.callbacks.append(_gc_callback)
        _install_lock_probe()
        if _ROLE == "job":
            _install_checkpoint_probe()
    _install_autocheckpoint()


if _ROLE == "web":
    from config.wsgi import application as _dagr

    setup()
    if os.environ.get("TAIL_GC_FREEZE") == "1":
        gc.freeze()


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    _state.wait = _state.held = 0.0
    _state.ckpt = False
    _gc_in_request[0], _gc_in_request[1] = 0.0, -1
    wall, started = time.time(), time.perf_counter()
    result = _dagr(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # request_finished, as the server would
    total = time.perf_counter() - started
    if _LOG_DIR:
        _rows.append(
            f"req\t{wall:.6f}\t{total * 1e3:.3f}\t{_state.wait * 1e3:.3f}\t{_state.held * 1e3:.3f}"
            f"\t{int(_state.ckpt)}\t{_gc_in_request[0] * 1e3:.3f}\t{_gc_in_request[1]}\n"
        )
    return [body]
