"""The remote agent's API: the same engine at the "provider's site" (here: in the test, with a
sink that posts over the Django test client) commits units through the API; the portal's run is
the same kind of row as a hosted one. Other institutions' connections get 404, no token 401."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from dagr.connectors import services
from dagr.connectors.models import ConnectorState, Run, RunLogLine
from dagr.core.actors import SYSTEM
from dagr.records.models import Record
from dagr_agent.connector import engine
from dagr_agent.connector.config import config_from_dict
from tests.factories import make_dataset, make_institution
from tests.records.test_api import token_for

from .memory import MemorySource, people
from .test_services import SCHEMA, incremental

pytestmark = pytest.mark.django_db
BASE = "/api/v1/provider/connectors"


class RemoteSink:
    """What the remote runner's sink does: one NDJSON POST per unit."""

    def __init__(self, client: Any, auth: dict[str, str], connector_id: int, run_id: int) -> None:
        self.client, self.auth = client, auth
        self.url = f"{BASE}/{connector_id}/runs/{run_id}"

    def validator(self) -> None:
        return None

    def load(self, unit: engine.LoadUnit) -> dict[str, int]:
        lines = [orjson.dumps({"record": r}) for r in unit.records]
        lines += [orjson.dumps({"delete": k}) for k in unit.deleted_keys()]
        lines.append(orjson.dumps({"state": unit.new_state()}))
        response = self.client.post(
            f"{self.url}/units?mode={unit.mode}",
            b"\n".join(lines),
            content_type="application/x-ndjson",
            **self.auth,
        )
        if response.status_code != 200:
            raise engine.RunFailed(response.json()["detail"], code=response.json()["code"])
        return response.json()


class RemoteLog:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def line(
        self, level: str, message: str, row: Any = None, *, code: str = "", params: Any = None
    ) -> None:
        self.lines.append(
            {"level": level, "message": message, "row": row, "code": code, "params": params}
        )

    def progress(self, rows_read: int, counts: Any) -> None:
        pass


@pytest.fixture
def setup(client: Any) -> tuple[Any, dict[str, str]]:
    dataset = make_dataset(schema=SCHEMA, provider=make_institution())
    connector = services.connector_create(
        actor=SYSTEM,
        dataset=dataset,
        name="remote",
        config=incremental(options={"count": 25}, commit_rows=10),
        runner="remote",
    )
    token, _conn = token_for(client, dataset.provider)
    return connector, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_remote_run_commits_units_with_their_cursor_and_reports_its_log(
    client: Any, setup: Any
) -> None:
    connector, auth = setup
    started = client.post(f"{BASE}/{connector.pk}/runs", **auth)
    assert started.status_code == 201, started.content
    run_id, state = started.json()["run_id"], started.json()["state"]
    assert client.post(f"{BASE}/{connector.pk}/runs", **auth).status_code == 409  # one at a time
    config = config_from_dict(connector.config)
    log = RemoteLog()
    result = engine.run(
        config, MemorySource(people(25)), RemoteSink(client, auth, connector.pk, run_id), state, log
    )
    assert result.status == "succeeded", result.error
    assert result.units == 3
    assert ConnectorState.objects.get(connector=connector).state["cursor"]["value"] == 25
    posted = client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/log",
        {"lines": log.lines, "progress": result.counts()},
        content_type="application/json",
        **auth,
    )
    assert posted.status_code == 204, posted.content
    finished = client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/finish",
        {"status": result.status, "counts": result.counts(), "mode": result.mode},
        content_type="application/json",
        **auth,
    )
    assert finished.status_code == 200 and finished.json()["created"] == 25
    run = Run.objects.get(pk=run_id)
    assert run.runner == "remote" and run.status == Run.Status.SUCCEEDED
    assert RunLogLine.objects.filter(run=run).exists()
    assert Record.objects.filter(dataset=connector.dataset).count() == 25
    # a finished run takes no more reports
    again = client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/finish",
        {"status": "failed", "counts": {}},
        content_type="application/json",
        **auth,
    )
    assert again.status_code == 409 and again["Content-Type"].startswith("application/problem+json")


def test_a_unit_without_its_state_line_saves_nothing(client: Any, setup: Any) -> None:
    connector, auth = setup
    run_id = client.post(f"{BASE}/{connector.pk}/runs", **auth).json()["run_id"]
    body = orjson.dumps({"record": {"personal_code": "A1", "last_name": "X"}})
    answer = client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/units",
        body,
        content_type="application/x-ndjson",
        **auth,
    )
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_unit"
    assert Record.objects.filter(dataset=connector.dataset).count() == 0


def test_other_callers_are_refused(client: Any, setup: Any) -> None:
    connector, _auth = setup
    assert client.post(f"{BASE}/{connector.pk}/runs").status_code == 401
    other, _c = token_for(client, make_institution())
    answer = client.post(f"{BASE}/{connector.pk}/runs", HTTP_AUTHORIZATION=f"Bearer {other}")
    assert answer.status_code == 404
    recipient, _c = token_for(client, connector.provider, kind="recipient")
    answer = client.post(f"{BASE}/{connector.pk}/runs", HTTP_AUTHORIZATION=f"Bearer {recipient}")
    assert answer.status_code in (403, 404)


def test_a_secret_sent_back_by_the_agent_is_masked_everywhere(client: Any, setup: Any) -> None:
    connector, auth = setup
    secret = "Rem0te-Secret-Pw"
    services.connector_update(
        actor=SYSTEM,
        connector=connector,
        name=connector.name,
        config=connector.config,
        secrets={"password": secret},
    )
    run_id = client.post(f"{BASE}/{connector.pk}/runs", **auth).json()["run_id"]
    lines = [{"level": "error", "message": f"login {secret} refused", "row": {"pw": secret}}]
    client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/log",
        {"lines": lines},
        content_type="application/json",
        **auth,
    )
    answer = client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/finish",
        {"status": "failed", "counts": {}, "error": f"db said {secret}"},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 200 and secret not in answer.content.decode()
    refused = client.post(
        f"{BASE}/{connector.pk}/runs/{run_id}/finish", {}, content_type="application/json", **auth
    )
    assert secret not in refused.content.decode()
    run = Run.objects.get(pk=run_id)
    texts = [run.error] + [f"{x.message} {x.row}" for x in RunLogLine.objects.filter(run=run)]
    assert all(secret not in t for t in texts) and "***" in run.error
