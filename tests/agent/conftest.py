"""Fixtures for the agent's sources: real source databases (SQLite file, PostgreSQL and MariaDB
databases named ``dagr_agent_src``, created afresh for each test that asks) filled with the same
small register."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import require_service

PG_HOST, PG_PORT = "127.0.0.1", 5432
MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306
SOURCE_DB = "dagr_agent_src"

PERSONS = [
    {
        "id": i,
        "name": f"Persona {i}",
        "score": Decimal(f"{i}.50"),
        "active": i % 2 == 0,
        "born": date(1980, 1, 1 + i % 28),
        "updated_at": datetime(2026, 1, 1, 0, 0, i % 60, 0) if i <= 60 else datetime(2026, 2, 1),
    }
    for i in range(1, 101)
]
# updated_at rises with id for ids 1..59 (seconds), 60 wraps to 0 s, 61.. are later: order by
# updated_at is not order by id, which the cursor tests need.
ADDRESSES = [{"person_id": i, "city": city} for i in range(1, 101, 3) for city in ("Rīga", "Cēsis")]


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    persons = sa.Table(
        "persons",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100)),
        sa.Column("score", sa.Numeric(10, 2)),
        sa.Column("active", sa.Boolean),
        sa.Column("born", sa.Date),
        sa.Column("updated_at", sa.DateTime),
    )
    addresses = sa.Table(
        "addresses",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer),
        sa.Column("city", sa.String(50)),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(persons.insert(), PERSONS)
        conn.execute(addresses.insert(), ADDRESSES)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A source database of each kind holding ``persons`` and ``addresses``; the URL has no
    password (none is needed: the tests' services trust loopback)."""
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
        _fill(url)
        yield url
        return
    if kind == "postgres":
        require_service("PostgreSQL", PG_HOST, PG_PORT)
        import psycopg

        admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{SOURCE_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{SOURCE_DB}"')
        url = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{SOURCE_DB}"
        _fill(url)
        yield url
        return
    require_service("MariaDB", MARIADB_HOST, MARIADB_PORT)
    import pymysql

    conn = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user="root")
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{SOURCE_DB}`")
            cursor.execute(f"CREATE DATABASE `{SOURCE_DB}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    url = f"mysql+pymysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{SOURCE_DB}?charset=utf8mb4"
    _fill(url)
    yield url
