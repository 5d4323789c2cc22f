"""The connector end to end: a DAGR server in the test process (``live_server``), the real
HTTP feed, and SQLite, PostgreSQL and MariaDB targets."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dagr_agent.sync.client import ApiError, GiveUp
from dagr_agent.sync.config import config_parse
from dagr_agent.sync.runner import Runner
from dagr_agent.sync.target import engine_create
from tests.sync.conftest import Server, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def expected(server: Server) -> dict[str, dict[str, Any]]:
    """What the grant shows now, read through the retrieval search service."""
    from dagr.retrieval import services

    world = server.world
    caller = services.Caller(institution_id=world.recipient.pk, label="test")
    out: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        page = services.records_search(
            caller=caller,
            dataset_code=world.dataset.code,
            permission_number="ATL-1",
            cursor=cursor,
            limit=1000,
        )
        for record in page.records:
            out[record["registration_number"]] = record
        cursor = page.next_cursor
        if not cursor:
            return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def target_rows(url: str, table: str = "companies") -> dict[str, dict[str, Any]]:
    engine = engine_create(url)
    try:
        with engine.connect() as conn:
            reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
            result = conn.execute(sa.select(reflected))
            rows: dict[str, dict[str, Any]] = {}
            for row in result:
                data = {k: _plain(v) for k, v in row._mapping.items() if not k.startswith("_dagr")}
                if "active" in data and data["active"] is not None:
                    data["active"] = bool(data["active"])
                if isinstance(data.get("board_members"), str):  # MariaDB reflects LONGTEXT
                    import orjson

                    data["board_members"] = orjson.loads(data["board_members"])
                rows[data["registration_number"]] = {k: v for k, v in data.items() if v is not None}
            return rows
    finally:
        engine.dispose()


def state(url: str) -> dict[str, Any] | None:
    engine = engine_create(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("dagr_sync_state"):
                return None
            row = conn.execute(sa.text("SELECT * FROM dagr_sync_state")).first()
            return None if row is None else dict(row._mapping)
    finally:
        engine.dispose()


def sync_once(server: Server, target_url: str, **dataset: Any) -> int:
    runner = Runner(config_parse(server.config(target_url, table="companies", **dataset)))
    try:
        results = runner.run_once()
    finally:
        runner.close()
    assert all(r.error is None for r in results), [r.error for r in results]
    return sum(r.applied for r in results)


def test_initial_load_updates_deletes_and_idempotence(server: Server, target_url: str) -> None:
    from dagr.core.actors import SYSTEM
    from dagr.records.services import records_delete, records_upsert
    from tests.retrieval.factories import company

    assert sync_once(server, target_url, page_size=7) > 0
    want = expected(server)
    assert len(want) == 20
    assert target_rows(target_url) == want

    dataset = server.world.dataset
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[
            company(3, name="Jauns nosaukums"),  # updated
            company(5, employees=2),  # leaves the grant's conditions
            company(21, active=True),  # enters them
            company(40),  # new
            company(6, secret_note="changed"),  # a field outside the grant: no change seen
        ],
    )
    records_delete(actor=SYSTEM, dataset=dataset, keys=["40000000002"])
    sync_once(server, target_url, page_size=2)
    want = expected(server)
    got = target_rows(target_url)
    assert got == want
    assert got["40000000003"]["name"] == "Jauns nosaukums"
    assert "40000000005" not in got and "40000000002" not in got
    assert "40000000021" in got and "40000000040" in got
    assert got["40000000001"]["board_members"] == [
        {"personal_code": "P-1", "role": "valdes priekšsēdētājs"},
        {"personal_code": "P-SHARED", "role": "valdes loceklis"},
    ]  # only the granted sub-fields

    before = state(target_url)
    assert sync_once(server, target_url) == 0  # nothing new: nothing applied
    assert target_rows(target_url) == want
    assert state(target_url) == before


def test_changed_grant_reloads_the_table(server: Server, target_url: str) -> None:
    from dagr.grants.models import Grant
    from tests.retrieval.factories import set_grant

    sync_once(server, target_url)
    grant = server.world.grant
    # conditions change, same fields: 409 cursor_outdated → emptied and reloaded
    narrower = [*grant.conditions, {"field": "employees", "op": "gte", "value": 25}]
    set_grant(grant, conditions=narrower)
    sync_once(server, target_url)
    want = expected(server)
    assert len(want) == 6  # employees 10+n ≥ 25 → n = 15..20
    assert target_rows(target_url) == want
    # fields change: the table is recreated without the column
    grant = Grant.objects.get(pk=grant.pk)
    set_grant(grant, fields=[f for f in grant.fields if f != "city"])
    sync_once(server, target_url)
    got = target_rows(target_url)
    assert got == expected(server)
    assert all("city" not in row for row in got.values())
    engine = engine_create(target_url)
    try:
        columns = {c["name"] for c in sa.inspect(engine).get_columns("companies")}
    finally:
        engine.dispose()
    assert "city" not in columns


def _load_many(server: Server, count: int) -> None:
    from dagr.core.actors import SYSTEM
    from dagr.records.services import records_upsert
    from tests.retrieval.factories import company

    records_upsert(
        actor=SYSTEM,
        dataset=server.world.dataset,
        records=[company(n) for n in range(100, 100 + count)],
    )


def test_kill_in_the_middle_then_resume(server: Server, target_url: str, tmp_path: Path) -> None:
    _load_many(server, 3000)
    config = server.write_config(tmp_path / "sync.yaml", target_url, table="companies",
                                 page_size=25)  # fmt: skip
    command = [sys.executable, "-m", "dagr.cli", "sync", "--config", str(config)]
    env = subprocess_env(server.secret)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            current = state(target_url) if process.poll() is None else None
            if current and current["cursor"]:
                break
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            time.sleep(0.05)
        else:
            pytest.fail("no cursor stored within 60 s")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    partial = target_rows(target_url)
    want = expected(server)
    assert 0 < len(partial) < len(want), "killed too late to test a resume"

    finished = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=300)
    assert finished.returncode == 0, finished.stderr.decode()
    stderr = finished.stderr.decode()
    assert server.secret not in stderr
    got = target_rows(target_url)
    assert got == want  # no duplicate (primary key), nothing missing, nothing extra
    assert len(got) == 20 + 3000


class FlakyProxy(http.server.ThreadingHTTPServer):
    """Answers 503 to its first ``failures`` requests, then forwards to the live server."""

    daemon_threads = True

    def __init__(self, port: int, upstream: str, failures: int) -> None:
        self.upstream, self.failures, self.seen = upstream, failures, 0
        super().__init__(("127.0.0.1", port), ProxyHandler)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: FlakyProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        self.server.seen += 1
        if self.server.seen <= self.server.failures:
            body = b'{"type":"about:blank","title":"Busy","status":503,"code":"unavailable"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        request = urllib.request.Request(  # noqa: S310 (the live server's http URL)
            self.server.upstream + self.path, data=data, headers=headers, method=self.command
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, body, content_type = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, body, content_type = exc.code, exc.read(), exc.headers
        self.send_response(status)
        self.send_header("Content-Type", content_type.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _forward
    do_POST = _forward


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("target_url", ["sqlite"], indirect=True)
def test_network_errors_are_retried(server: Server, target_url: str) -> None:
    port = _free_port()
    proxies: list[FlakyProxy] = []

    def start_later() -> None:  # refused connections first, then two 503s, then it works
        time.sleep(1.0)
        proxy = FlakyProxy(port, server.url, failures=2)
        proxies.append(proxy)
        proxy.serve_forever()

    threading.Thread(target=start_later, daemon=True).start()
    config = server.config(target_url, table="companies")
    config["dagr"]["url"] = f"http://127.0.0.1:{port}"
    # Backoff is random (jitter): give it room, so a slow machine does not turn "retried until it
    # worked" into "gave up"; the proxy fails only its first requests, so this never waits long.
    config["dagr"]["retry_for_seconds"] = 120
    runner = Runner(config_parse(config))
    try:
        results = runner.run_once()
    finally:
        runner.close()
        for proxy in proxies:
            proxy.shutdown()
    assert [r.error for r in results] == [None]
    assert proxies and proxies[0].seen > 2
    assert target_rows(target_url) == expected(server)


@pytest.mark.parametrize("target_url", ["sqlite"], indirect=True)
def test_gives_up_with_a_clear_message(server: Server, target_url: str) -> None:
    config = server.config(target_url)
    config["dagr"]["url"] = f"http://127.0.0.1:{_free_port()}"
    config["dagr"]["retry_for_seconds"] = 1
    runner = Runner(config_parse(config))
    try:
        with pytest.raises(GiveUp, match=r"failed for \d+ s .*last error: .*Connection"):
            runner.client.grants()
    finally:
        runner.close()


@pytest.mark.parametrize("target_url", ["sqlite"], indirect=True)
def test_problem_errors_carry_code_and_title(server: Server, target_url: str) -> None:
    runner = Runner(config_parse(server.config(target_url, permission_number="NO-SUCH")))
    try:
        with pytest.raises(ApiError) as info:
            runner.client.changes(server.world.dataset.code, "NO-SUCH", None, 10)
        assert info.value.status in (403, 404)
        assert info.value.code and info.value.title
        results = runner.run_once()
        assert "NO-SUCH" in (results[0].error or "")
    finally:
        runner.close()
    wrong = server.config(target_url)
    os.environ["WRONG_SECRET"] = "not-the-secret"
    wrong["dagr"]["client_secret_env"] = "WRONG_SECRET"
    runner = Runner(config_parse(wrong))
    try:
        with pytest.raises(ApiError) as info:
            runner.client.grants()
        assert info.value.status in (400, 401)
        assert "not-the-secret" not in str(info.value)
    finally:
        runner.close()
        del os.environ["WRONG_SECRET"]


@pytest.mark.parametrize("target_url", ["sqlite"], indirect=True)
def test_continuous_mode_stops_on_sigterm(server: Server, target_url: str, tmp_path: Path) -> None:
    config = server.write_config(tmp_path / "sync.yaml", target_url, table="companies")
    process = subprocess.Popen(
        [sys.executable, "-m", "dagr.cli", "sync", "--config", str(config), "--continuous"],
        env=subprocess_env(server.secret), cwd=ROOT, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (state(target_url) or {}).get("cursor"):
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert target_rows(target_url) == expected(server)


@pytest.mark.parametrize("target_url", ["sqlite"], indirect=True)
def test_a_refused_token_is_fetched_again(server: Server, target_url: str) -> None:
    runner = Runner(config_parse(server.config(target_url)))
    try:
        first = runner.client.token()
        runner.client._token = first[:-4] + "AAAA"  # a token the server refuses (401)
        permissions = runner.client.grants()
        assert [p["permission_number"] for p in permissions] == ["ATL-1"]
        assert runner.client._token not in (None, first[:-4] + "AAAA")
    finally:
        runner.close()
