"""Hosted connector runs from real SQLite, PostgreSQL and MariaDB source databases (the agent's
``sql`` source): a table with a child query for a nested list, incremental by a timestamp, a
second run reading only what changed, and schema drift proposed when a column appears."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dagr.connectors import services
from dagr.connectors.models import ConnectorState, Run
from dagr.core.actors import SYSTEM
from dagr.records.models import Record
from dagr_agent.connector.drift import columns_snapshot
from dagr_agent.connector.sources import source_open
from tests.agent.conftest import MARIADB_HOST, MARIADB_PORT, PG_HOST, PG_PORT, _fill
from tests.conftest import require_service
from tests.factories import make_dataset, make_institution

pytestmark = pytest.mark.django_db
SOURCE_DB = "dagr_conn_src"  # not the agent tests' database: the suites may run side by side

SCHEMA: dict[str, Any] = {
    "key": "id",
    "fields": [
        {
            "name": "id",
            "title_lv": "Id",
            "title_en": "Id",
            "type": "integer",
            "required": True,
            "identifier": "other",
        },
        {
            "name": "name",
            "title_lv": "Vārds",
            "title_en": "Name",
            "type": "string",
            "required": True,
        },
        {"name": "born", "title_lv": "Dzimis", "title_en": "Born", "type": "date"},
        {
            "name": "addresses",
            "title_lv": "Adreses",
            "title_en": "Addresses",
            "type": "list",
            "fields": [
                {"name": "city", "title_lv": "Pilsēta", "title_en": "City", "type": "string"}
            ],
        },
    ],
}


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def source_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    elif kind == "postgres":
        require_service("PostgreSQL", PG_HOST, PG_PORT)
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{SOURCE_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{SOURCE_DB}"')
        url = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{SOURCE_DB}"
    else:
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


def connector_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": {
            "kind": "sql",
            "options": {
                "url": url,
                "query": "SELECT * FROM persons",
                "allow_internal": True,
                "children": {
                    "addresses": {
                        "query": (
                            "SELECT person_id, city FROM addresses"
                            " WHERE person_id IN :keys ORDER BY id"
                        ),
                        "key": "person_id",
                        "parent_key": "id",
                    }
                },
            },
        },
        "mode": "incremental",
        "cursor": {"column": "updated_at", "type": "timestamp"},
        "mapping": {
            "key": "id",
            "fields": [
                {"field": "id", "column": "id"},
                {"field": "name", "column": "name", "transforms": ["trim"]},
                {"field": "born", "column": "born"},
                {
                    "field": "addresses",
                    "column": "addresses",
                    "fields": [{"field": "city", "column": "city"}],
                },
            ],
        },
        "commit_rows": 30,
        "batch_size": 25,
        **extra,
    }


def test_incremental_runs_from_a_real_database(source_url: str) -> None:
    dataset = make_dataset(schema=SCHEMA, provider=make_institution())
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="sql", config=connector_config(source_url)
    )
    first = services.run_hosted(actor=SYSTEM, connector=connector)
    assert first.status == Run.Status.SUCCEEDED, first.error
    assert (first.rows_read, first.created) == (100, 100)
    one = Record.objects.get(dataset=dataset, key="1")
    assert one.data["addresses"] == [{"city": "Rīga"}, {"city": "Cēsis"}]
    assert one.data["born"] == "1980-01-02"
    cursor = ConnectorState.objects.get(connector=connector).state["cursor"]
    # SQLite returns a query's timestamps as text: the cursor keeps the type the source gives
    assert cursor["type"] in ("datetime", "string") and cursor["value"].startswith("2026-02-01")

    engine = sa.create_engine(source_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE persons SET name = 'Jauns', updated_at = :t WHERE id = 5"),
            {"t": datetime(2026, 3, 1)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO persons (id, name, born, updated_at)"
                " VALUES (101, 'Jaunā', '1999-09-09', :t)"
            ),
            {"t": datetime(2026, 3, 2)},
        )
    engine.dispose()
    second = services.run_hosted(actor=SYSTEM, connector=connector)
    assert second.status == Run.Status.SUCCEEDED, second.error
    assert (second.rows_read, second.created, second.updated) == (2, 1, 1)
    assert Record.objects.get(dataset=dataset, key="5").data["name"] == "Jauns"
    third = services.run_hosted(actor=SYSTEM, connector=connector)
    assert third.rows_read == 0


def test_a_new_source_column_is_proposed_as_a_schema_change(source_url: str) -> None:
    dataset = make_dataset(schema=SCHEMA, provider=make_institution())
    # the columns as the source shows them now (what a dry run lists)
    source = source_open("sql", connector_config(source_url)["source"]["options"], {})
    try:
        source_columns = columns_snapshot(source.columns())
    finally:
        source.close()
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="sql",
        config=connector_config(source_url, drift="propose", columns=source_columns),
    )
    engine = sa.create_engine(source_url)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE persons ADD COLUMN email VARCHAR(100)"))
    engine.dispose()
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.proposal == [{"name": "email", "type": "string", "column": "email"}]
    services.connector_update(
        actor=SYSTEM,
        connector=connector,
        name="sql",
        config=connector_config(source_url, drift="fail", columns=source_columns),
    )
    refused = services.run_hosted(actor=SYSTEM, connector=connector)
    assert refused.status == Run.Status.FAILED and refused.error_code == "schema_drift"


def test_a_table_source_lists_its_child_lists_as_columns(source_url: str) -> None:
    """A ``table:`` source with ``children:`` offers the nested list as a column, like a
    ``query:`` source does: drift detection does not call it missing, a run loads it."""
    options = dict(connector_config(source_url)["source"]["options"])
    del options["query"]
    options["table"] = "persons"
    source = source_open("sql", options, {})
    try:
        listed = source.columns()
    finally:
        source.close()
    columns = {c.name: c.type for c in listed}
    assert columns["addresses"] == "json"
    assert {"id", "name", "born", "updated_at"} <= set(columns)

    config = connector_config(source_url, drift="fail", columns=columns_snapshot(listed))
    config["source"]["options"] = options
    dataset = make_dataset(schema=SCHEMA, provider=make_institution())
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name="t", config=config)
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.drift == []
    one = Record.objects.get(dataset=dataset, key="1")
    assert one.data["addresses"] == [{"city": "Rīga"}, {"city": "Cēsis"}]
