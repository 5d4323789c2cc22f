"""Server-side prepared statements for the few statements of the data API's hot path
(PostgreSQL only).

Django's PostgreSQL backend binds parameters on the client (psycopg's ``ClientCursor``: the
values are quoted into the SQL text) and disables prepared statements (``prepare_threshold=None``,
for connection poolers). Every GET-by-identifier therefore made the server parse and plan the
record SELECT and the audit statement again from a new text: measured in-process on this
machine (``bench/lookup_cpu.py`` data, 3,000 requests, the backend's CPU from ``/proc``), DAGR's
PostgreSQL backend spent ~840–950 µs per request against ~410–440 µs for the floor server, which
sends the same two statements with server-side parameters, prepared by psycopg.

``fetch_prepared`` runs one statement with server-side binding and prepares it on first use on
this connection (psycopg keeps the name per connection, at most ``prepared_max`` statements).
Only statements whose text is the same on every call belong here (the hot path's SQL is built
once per dataset, identifier path and grant condition). The connection's ``prepare_threshold``
is set only around the call and restored, so Django's own queries are never prepared —
``DAGR_PG_PREPARED=0`` turns this off for a transaction-mode pooler that does not support
protocol-level prepared statements (PgBouncer before 1.21). Errors are Django's, through
``wrap_database_errors``. psycopg offers no per-statement switch that works while the
connection's threshold is ``None``, hence these few lines.

``fetch_direct`` is the same for SQLite: the statement on the driver's own connection, not
through Django's cursor wrapper, which rewrites the placeholders (a regex) and wraps the call on
every execution — on the GET-by-identifier hot path for nothing (``docs/performance.md``). As
above, errors are Django's; when Django logs queries the statement goes through its cursor."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

ENABLED = os.environ.get("DAGR_PG_PREPARED", "1") != "0"
_EXPLICIT_ONLY = 2**31  # a threshold never reached: only ``prepare=True`` prepares


def fetch_prepared(
    db: BaseDatabaseWrapper, sql: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``%s`` placeholders) run on ``db`` — a prepared statement with
    server-side parameters on PostgreSQL, Django's cursor elsewhere."""
    if db.vendor != "postgresql" or not ENABLED:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    db.ensure_connection()
    raw = db.connection
    with db.wrap_database_errors:
        threshold = raw.prepare_threshold
        raw.prepare_threshold = _EXPLICIT_ONLY
        try:
            started = time.monotonic()
            with psycopg.Cursor(raw) as cursor:
                cursor.execute(sql, params, prepare=True)
                rows = cursor.fetchall()
        finally:
            raw.prepare_threshold = threshold
    if db.queries_logged:  # as Django's debug cursor does (DEBUG, CaptureQueriesContext)
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


_QMARK = re.compile(r"(?<!%)%s")  # Django's own "format" → "qmark" conversion (sqlite3 backend)
_SQLITE_TEXT: dict[str, str] = {}


def fetch_direct(db: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``%s`` placeholders) run on ``db`` through the driver's own connection:
    ``fetch_prepared`` on PostgreSQL, the sqlite3 connection on SQLite (the placeholders
    converted once per text, as Django's SQLite cursor converts them), Django's cursor
    elsewhere — and whenever Django logs queries (DEBUG, ``CaptureQueriesContext``) or an
    ``execute_wrapper`` is installed, so that those see the statement exactly as Django runs
    it. Only for statements whose text recurs (a bounded number of them)."""
    if db.vendor != "sqlite":
        return fetch_prepared(db, sql, params)
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    text = _SQLITE_TEXT.get(sql)
    if text is None:
        text = _QMARK.sub("?", sql).replace("%%", "%")
        if len(_SQLITE_TEXT) > 1024:
            _SQLITE_TEXT.clear()
        _SQLITE_TEXT[sql] = text
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()  # as Django's cursor, inside a failed atomic block
    with db.wrap_database_errors:
        return db.connection.execute(text, params).fetchall()
