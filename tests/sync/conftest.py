"""Fixtures for the sync connector: scratch target databases (SQLite file, PostgreSQL, MariaDB)
and a DAGR server in the test process (pytest-django's ``live_server``) with a recipient
system whose secret the connector uses."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_service

PG_HOST, PG_PORT = "127.0.0.1", 5432
MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306
SECRET_ENV = "DAGR_SYNC_TEST_SECRET"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind; dropped afterwards."""
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.sqlite3'}"
        return
    name = f"dagr_sync_test_{secrets.token_hex(4)}"
    if kind == "postgres":
        require_service("PostgreSQL", PG_HOST, PG_PORT)
        import psycopg

        admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    require_service("MariaDB", MARIADB_HOST, MARIADB_PORT)
    import pymysql

    def admin(sql: str) -> None:
        conn = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user="root")
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"mysql+pymysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{name}?charset=utf8mb4"
    finally:
        admin(f"DROP DATABASE IF EXISTS `{name}`")


@dataclass
class Server:
    """The live DAGR server, the test world and a recipient system's credentials."""

    url: str
    world: Any
    client_id: str
    secret: str

    def config(self, target_url: str, **dataset: Any) -> dict[str, Any]:
        entry = {"code": self.world.dataset.code, "permission_number": "ATL-1", **dataset}
        return {
            "dagr": {
                "url": self.url,
                "client_id": self.client_id,
                "client_secret_env": SECRET_ENV,
                "retry_for_seconds": 20,
            },
            "target": {"url": target_url},
            "datasets": [entry],
            "interval_seconds": 0.5,
        }

    def write_config(self, path: Path, target_url: str, **dataset: Any) -> Path:
        path.write_text(yaml.safe_dump(self.config(target_url, **dataset)))
        return path


@pytest.fixture
def server(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Server:
    from dagr.connections.services import connection_create
    from dagr.connections.tokens import connection_states
    from tests.retrieval.factories import make_world

    world = make_world()
    connection, secret = connection_create(
        actor=world.recipient_rep, institution=world.recipient, name="Sync", kind="recipient"
    )
    connection_states.invalidate()
    assert secret is not None
    monkeypatch.setenv(SECRET_ENV, secret)
    return Server(live_server.url, world, connection.client_id, secret)


def subprocess_env(secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env[SECRET_ENV] = secret
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the connector must not need Django
    return env
