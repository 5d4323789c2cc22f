"""``dagr connector run --config connector.yaml``: the remote runner as its own process against a
live DAGR server (pytest-django's ``live_server``) reading a real SQLite source: the run, its
units and its log land in DAGR like a hosted run's, the cursor moves only with committed units,
and the source's secret appears nowhere."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dagr.connectors import services
from dagr.connectors.models import ConnectorState, Run, RunLogLine
from dagr.core.actors import SYSTEM
from dagr.records.models import Record
from tests.agent.conftest import _fill
from tests.factories import make_dataset, make_institution

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Src-Pw-7%Hx!q"
SCHEMA: dict[str, Any] = {
    "key": "personal_code",
    "fields": [
        {"name": "personal_code", "title_lv": "Kods", "title_en": "Code", "type": "string",
         "required": True, "identifier": "other"},
        {"name": "last_name", "title_lv": "Vārds", "title_en": "Name", "type": "string",
         "required": True},
        {"name": "birth_date", "title_lv": "Dzimis", "title_en": "Born", "type": "date"},
    ],
}  # fmt: skip


def _config(source_url: str) -> dict[str, Any]:
    return {
        "source": {"kind": "sql", "options": {"url": source_url, "table": "persons"}},
        "mapping": {
            "key": "personal_code",
            "fields": [
                {"field": "personal_code", "column": "id", "transforms": ["to_string"]},
                {"field": "last_name", "column": "name", "transforms": ["trim"]},
                {"field": "birth_date", "column": "born"},
            ],
        },
        "mode": "incremental",
        "cursor": {"column": "updated_at", "type": "timestamp"},
        "commit_rows": 30,
        "drift": "ignore",
    }


def _run(config: Path, secret_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DAGR_"))}
    env.update(secret_env)
    return subprocess.run(
        [sys.executable, "-m", "dagr_agent", "connector", "run", "--config", str(config)],
        capture_output=True, text=True, env=env, cwd=config.parent, timeout=300, check=False,
    )  # fmt: skip


def test_a_remote_run_loads_reports_and_resumes(live_server: Any, tmp_path: Path) -> None:
    from dagr.connections.services import connection_create
    from dagr.connections.tokens import connection_states

    source = tmp_path / "register.sqlite3"
    _fill(f"sqlite:///{source}")
    dataset = make_dataset(schema=SCHEMA, provider=make_institution())
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="Attālais",
        config=_config(f"sqlite:///{source}"),
        secrets={"password": SECRET},
        runner="remote",
    )
    conn, client_secret = connection_create(
        actor=SYSTEM, institution=dataset.provider, name="agent", kind="provider"
    )
    connection_states.invalidate()
    config = tmp_path / "connector.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "dagr": {
                    "url": live_server.url,
                    "client_id": conn.client_id,
                    "client_secret_env": "DAGR_CLIENT_SECRET",
                    "retry_for_seconds": 10,
                },
                "connector": connector.pk,
                "secrets_env": {"password": "REGISTER_PASSWORD"},
            }
        )
    )
    env = {"DAGR_CLIENT_SECRET": str(client_secret), "REGISTER_PASSWORD": SECRET}

    first = _run(config, env)
    assert first.returncode == 0, first.stderr
    run = Run.objects.get(connector=connector)
    assert run.runner == "remote" and run.status == Run.Status.SUCCEEDED
    assert (run.rows_read, run.created) == (100, 100)
    assert Record.objects.filter(dataset=dataset, deleted_at__isnull=True).count() == 100
    state = ConnectorState.objects.get(connector=connector).state
    assert state["cursor"]["value"] == "2026-02-01T00:00:00"

    # nothing new at the source: the saved cursor is respected, nothing is read again
    second = _run(config, env)
    assert second.returncode == 0, second.stderr
    latest = Run.objects.filter(connector=connector).latest("pk")
    assert (latest.rows_read, latest.created, latest.updated) == (0, 0, 0)

    # a change at the source: only the changed row travels
    with sqlite3.connect(source) as db:
        db.execute(
            "UPDATE persons SET name = ' Jauns ', updated_at = '2026-03-01 00:00:00.000000' "
            "WHERE id = 7"
        )
    third = _run(config, env)
    assert third.returncode == 0, third.stderr
    latest = Run.objects.filter(connector=connector).latest("pk")
    assert (latest.rows_read, latest.updated) == (1, 1)
    record = Record.objects.get(dataset=dataset, key="7")
    assert record.data["last_name"] == "Jauns"

    # the secret went nowhere: not in the runs, their logs, nor what the agent printed
    shown = [first.stderr, second.stderr, third.stderr]
    shown += [line.message + str(line.row) for line in RunLogLine.objects.all()]
    shown += [r.error for r in Run.objects.all()]
    assert RunLogLine.objects.filter(run=run).exists()
    assert not [text for text in shown if SECRET in text]


def test_a_source_that_cannot_be_opened_fails_the_run_in_the_portal(
    live_server: Any, tmp_path: Path
) -> None:
    from dagr.connections.services import connection_create
    from dagr.connections.tokens import connection_states

    dataset = make_dataset(schema=SCHEMA, provider=make_institution())
    bad = _config("mysql+pymysql://reader@127.0.0.1:1/none")
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="x", config=bad, secrets={"password": SECRET},
        runner="remote",
    )  # fmt: skip
    conn, client_secret = connection_create(
        actor=SYSTEM, institution=dataset.provider, name="agent", kind="provider"
    )
    connection_states.invalidate()
    config = tmp_path / "connector.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "dagr": {"url": live_server.url, "client_id": conn.client_id,
                         "client_secret_env": "DAGR_CLIENT_SECRET", "retry_for_seconds": 5},
                "connector": connector.pk,
                "secrets_env": {"password": "REGISTER_PASSWORD"},
            }
        )
    )  # fmt: skip
    done = _run(config, {"DAGR_CLIENT_SECRET": str(client_secret), "REGISTER_PASSWORD": SECRET})
    assert done.returncode == 1
    run = Run.objects.get(connector=connector)
    assert run.status == Run.Status.FAILED and run.error
    assert SECRET not in done.stderr + run.error
    # the lock is released: the next run may start
    assert ConnectorState.objects.get(connector=connector).running_run_id is None

    # a configuration without the secret's variable is refused before anything is claimed
    missing = _run(config, {"DAGR_CLIENT_SECRET": str(client_secret)})
    assert missing.returncode == 2 and "REGISTER_PASSWORD" in missing.stderr
    assert Run.objects.filter(connector=connector).count() == 1
