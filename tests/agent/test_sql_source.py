"""The ``sql`` source against real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

from datetime import datetime

import pytest

from dagr_agent.connector.sources import Column, SourceError, source_open
from tests.agent.conftest import PERSONS

CHILDREN = {
    "addresses": {
        "query": "SELECT person_id, city FROM addresses WHERE person_id IN :keys ORDER BY id",
        "key": "person_id",
        "parent_key": "id",
    }
}


def test_table_columns_and_every_row_in_batches(source_url: str) -> None:
    source = source_open("sql", {"url": source_url, "table": "persons", "allow_internal": True}, {})
    try:
        columns = {c.name: c.type for c in source.columns()}
        assert columns == {
            "id": "integer",
            "name": "string",
            "score": "number",
            # MariaDB has no boolean type: BOOLEAN is TINYINT(1), reflected as an integer
            "active": "integer" if source_url.startswith("mysql") else "boolean",
            "born": "date",
            "updated_at": "datetime",
        }
        batches = list(source.read(batch_size=30))
    finally:
        source.close()
    assert [len(b) for b in batches] == [30, 30, 30, 10]
    rows = sorted((r for b in batches for r in b), key=lambda r: r["id"])  # type: ignore[arg-type,return-value]
    assert [r["id"] for r in rows] == list(range(1, 101))
    assert rows[0]["name"] == "Persona 1"


def test_cursor_orders_and_skips_what_was_read(source_url: str) -> None:
    source = source_open("sql", {"url": source_url, "table": "persons", "allow_internal": True}, {})
    try:
        rows = [r for b in source.read(cursor_column="updated_at", batch_size=7) for r in b]
        after = datetime(2026, 1, 1, 0, 0, 50)
        later = [
            r for b in source.read(cursor_column="updated_at", after=after, batch_size=7) for r in b
        ]
    finally:
        source.close()
    stamps = [r["updated_at"] for r in rows]
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert len(rows) == 100
    expected = sorted(p["id"] for p in PERSONS if p["updated_at"] > after)  # type: ignore[operator]
    assert sorted(r["id"] for r in later) == expected  # type: ignore[type-var]
    assert all(r["updated_at"] > after for r in later)  # type: ignore[operator]


def test_query_with_a_cursor_and_children(source_url: str) -> None:
    source = source_open(
        "sql",
        {
            "url": source_url,
            "query": "SELECT id, name FROM persons WHERE id <= 40",
            "children": CHILDREN,
            "allow_internal": True,
        },
        {},
    )
    try:
        columns = source.columns()
        batches = list(source.read(cursor_column="id", after=10, batch_size=12))
    finally:
        source.close()
    assert columns == [
        Column("id", "integer"),
        Column("name", "string"),
        Column("addresses", "json"),
    ]
    rows = [r for b in batches for r in b]
    assert [r["id"] for r in rows] == list(range(11, 41))
    by_id = {r["id"]: r for r in rows}
    assert by_id[13]["addresses"] == [
        {"person_id": 13, "city": "Rīga"},
        {"person_id": 13, "city": "Cēsis"},
    ]
    assert by_id[12]["addresses"] == []


def test_configuration_errors() -> None:
    with pytest.raises(SourceError, match="exactly one of table or query"):
        source_open("sql", {"url": "sqlite://"}, {})
    with pytest.raises(SourceError, match="password in the secrets"):
        source_open("sql", {"url": "postgresql://u:pw@127.0.0.1/x", "table": "t"}, {})
    with pytest.raises(SourceError, match="IN :keys"):
        source_open(
            "sql",
            {
                "url": "sqlite://",
                "table": "t",
                "children": {"x": {"query": "SELECT 1", "key": "a", "parent_key": "b"}},
            },
            {},
        )
    with pytest.raises(SourceError, match="unknown source kind"):
        source_open("ftp", {}, {})


def test_an_internal_database_host_needs_allow_internal() -> None:
    with pytest.raises(SourceError, match="internal"):
        source_open("sql", {"url": "postgresql+psycopg://u@127.0.0.1/x", "table": "t"}, {})
