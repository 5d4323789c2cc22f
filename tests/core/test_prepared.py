"""``dagr.core.db.prepared``: the hot path's statements are server-side prepared on PostgreSQL,
give the same rows as Django's cursor, leave Django's own queries unprepared, and raise Django's
errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from dagr.core.db import prepared

pytestmark = pytest.mark.django_db

SQL = "SELECT %s::int + 1, %s::text, %s::jsonb, %s::bytea[]"
PARAMS = [41, "Ābele 100%", '{"a": [1, "ē"]}', [b"\x00\x01", b"\xff"]]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_same_rows_as_djangos_cursor(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; elsewhere Django's cursor runs it")
    fast = prepared.fetch_prepared(connection, SQL, PARAMS)
    monkeypatch.setattr(prepared, "ENABLED", False)
    plain = prepared.fetch_prepared(connection, SQL, PARAMS)
    assert fast == plain
    assert fast[0][0] == 42 and fast[0][1] == "Ābele 100%"


def test_prepared_once_and_djangos_queries_never():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    sql = "SELECT %s::int * 2 AS doubled_for_the_prepared_test"
    for n in range(3):
        assert prepared.fetch_prepared(connection, sql, [n]) == [(2 * n,)]
    statements = _prepared_statements()
    assert sum("doubled_for_the_prepared_test" in s for s in statements) == 1
    assert connection.connection.prepare_threshold is None  # restored: Django's default
    for _ in range(10):  # Django's own identical query, many times: never prepared
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'django_own_query_not_prepared'")
    assert not any("django_own_query_not_prepared" in s for s in _prepared_statements())


def test_logged_like_djangos_queries_and_errors_are_djangos():
    with CaptureQueriesContext(connection) as queries:
        assert prepared.fetch_prepared(connection, "SELECT %s", [7]) == [(7,)]
    assert [q["sql"] for q in queries] == ["SELECT %s"] or connection.vendor != "postgresql"
    assert len(queries) == 1
    with pytest.raises(DatabaseError):
        prepared.fetch_prepared(connection, "SELECT * FROM no_such_table_here WHERE 1 = %s", [1])


def test_direct_gives_djangos_rows_logs_and_errors():
    """``fetch_direct``: the driver's own connection (prepared on PostgreSQL, sqlite3's on
    SQLite) — the same rows as Django's cursor, ``%%`` a literal percent sign, Django's errors,
    no statement inside a broken atomic block; logged and seen by execute wrappers exactly as
    Django's own queries are."""
    sql = "SELECT %s, %s || '100%%', %s"
    params = [41, "Ābele ", None]
    with CaptureQueriesContext(connection) as django_log, connection.cursor() as cursor:
        cursor.execute(sql, params)
        plain = cursor.fetchall()
    assert prepared.fetch_direct(connection, sql, params) == plain == [(41, "Ābele 100%", None)]
    assert prepared.fetch_direct(connection, sql, params) == plain  # the converted text, kept
    with CaptureQueriesContext(connection) as direct_log:
        assert prepared.fetch_direct(connection, sql, params) == plain
    if connection.vendor == "sqlite":  # (PostgreSQL: ``fetch_prepared``'s own log entry)
        assert [q["sql"] for q in direct_log] == [q["sql"] for q in django_log]
    assert len(direct_log) == 1
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert prepared.fetch_direct(connection, sql, params) == plain
    assert seen == [sql] or connection.vendor != "sqlite"
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared.fetch_direct(connection, "SELECT * FROM no_such_table_here WHERE 1 = %s", [1])
    # Django's guard on SQLite; PostgreSQL's server refuses it itself.
    refused = TransactionManagementError if connection.vendor == "sqlite" else DatabaseError
    with transaction.atomic():
        with pytest.raises(DatabaseError), transaction.atomic(savepoint=False):
            prepared.fetch_direct(connection, "SELECT * FROM no_such_table_x WHERE 1 = %s", [1])
        with pytest.raises(refused):
            prepared.fetch_direct(connection, "SELECT %s", [1])
        transaction.set_rollback(True)
    assert prepared.fetch_direct(connection, "SELECT %s", [5]) == [(5,)]
