"""The remote agent's unit endpoint through the real server (``dagr serve``): an NDJSON body sent
with ``Transfer-Encoding: chunked`` and chunk boundaries that split lines and multi-byte UTF-8
characters commits every record and the cursor, exactly as with ``Content-Length``; a unit cut
before its state line commits nothing and leaves the cursor where it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import orjson
import pytest

from tests.e2e import data
from tests.e2e.conftest import ROOT, Server

pytestmark = pytest.mark.e2e

BASE = "/api/v1/provider/connectors"
CODE = "e2e-remote-units"

SETUP = """
import json, sys
import django
django.setup()
from dagr.accounts.models import Institution
from dagr.connectors import services
from dagr.core.actors import SYSTEM
from tests.factories import PERSON_SCHEMA, make_dataset

provider = Institution.objects.get(name="E2E datu devējs")
dataset = make_dataset(provider=provider, code=sys.argv[1], schema=PERSON_SCHEMA,
                       status="production")
config = {
    "source": {"kind": "sql", "options": {"url": "sqlite:///register.db", "table": "persons"}},
    "mapping": {"key": "personal_code", "fields": [
        {"field": "personal_code", "column": "code"},
        {"field": "last_name", "column": "name"},
        {"field": "birth_date", "column": "born"},
    ]},
    "mode": "incremental",
    "cursor": {"column": "seq", "type": "sequence"},
}
connector = services.connector_create(
    actor=SYSTEM, dataset=dataset, name="E2E chunked", config=config, runner="remote"
)
print(connector.pk)
"""


@pytest.fixture(scope="module")
def connector_id(dagr_server: Server) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DAGR_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=dagr_server.database_url)
    done = subprocess.run(
        [sys.executable, "-c", SETUP, CODE], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def _unit(records: list[dict], state: dict | None) -> bytes:
    lines = [orjson.dumps({"record": r}) for r in records]
    if state is not None:
        lines.append(orjson.dumps({"state": state}))
    return b"\n".join(lines) + b"\n"


def _odd_chunks(body: bytes, size: int = 7) -> Iterator[bytes]:
    """Chunks of ``size`` bytes: most lines and many two-byte letters are split between two."""
    for at in range(0, len(body), size):
        yield body[at : at + size]


def _state(server: Server, connector_id: int) -> dict:
    answer = server.request("GET", f"{BASE}/{connector_id}", token="provider")
    assert answer.status == 200, answer.body
    return answer.json()["state"]


def test_a_chunked_unit_commits_every_record_and_its_cursor(
    dagr_server: Server, connector_id: int
) -> None:
    started = dagr_server.request("POST", f"{BASE}/{connector_id}/runs", token="provider")
    assert started.status == 201, started.body
    run_id = started.json()["run_id"]
    people = data.persons(300, serial=970_000)
    cursor = {"cursor": {"column": "seq", "value": 300}}
    answer = dagr_server.chunked(
        f"{BASE}/{connector_id}/runs/{run_id}/units",
        _odd_chunks(_unit(people, cursor)),
        token="provider",
        content_type="application/x-ndjson",
    )
    assert answer.status == 200, answer.body
    assert answer.json()["created"] == 300
    assert dagr_server.live_records(CODE) == 300
    assert _state(dagr_server, connector_id)["cursor"]["value"] == 300

    # a unit cut before its state line: nothing of it is saved, the cursor stays
    more = data.persons(50, serial=980_000)
    cut = dagr_server.chunked(
        f"{BASE}/{connector_id}/runs/{run_id}/units",
        _odd_chunks(_unit(more, None), size=11),
        token="provider",
        content_type="application/x-ndjson",
    )
    assert cut.status == 422, cut.body
    assert cut.content_type == "application/problem+json"
    assert json.loads(cut.body)["code"] == "invalid_unit"
    assert dagr_server.live_records(CODE) == 300
    assert _state(dagr_server, connector_id)["cursor"]["value"] == 300

    finished = dagr_server.request(
        "POST",
        f"{BASE}/{connector_id}/runs/{run_id}/finish",
        token="provider",
        json_body={"status": "succeeded", "counts": {"created": 300}, "mode": "incremental"},
    )
    assert finished.status == 200, finished.body
    assert finished.json()["status"] == "succeeded"
