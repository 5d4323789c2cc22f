"""The end-to-end tier: the real server process (``dagr serve``: granian WSGI with 2 processes,
plus the background worker) on a free loopback port, driven with real HTTP clients.

The session-scoped ``dagr_server`` fixture creates a scratch database of the backend the suite
runs on (``DATABASE_URL``: a temporary SQLite file, or a fresh PostgreSQL database
``<name>_e2e_<random>`` next to the test database, dropped at the end), runs ``dagr migrate`` and
``tests/e2e/setup_server.py`` into it in child processes, starts ``dagr serve`` in its own
process group with its own var directory, waits for ``/healthz`` to report the database and the
worker, and stops the whole process group at the end — also when something failed. A failing
test's report carries the tail of the server's log.

Nothing is skipped: a server that does not start fails the tier, on a laptop as under CI.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import urllib3

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
LOG_TAIL = 6000

_server_log: Path | None = None


def _tail(path: Path | None, size: int = LOG_TAIL) -> str:
    if path is None or not path.exists():
        return "(no server log)"
    data = path.read_bytes()
    return data[-size:].decode("utf-8", "replace")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.failed and "e2e" in item.keywords and _server_log is not None:
        report.sections.append(("dagr serve log (tail)", _tail(_server_log)))
    return report


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()


@dataclass
class Server:
    """The running server: its address, its credentials and small HTTP helpers."""

    host: str
    port: int
    database_url: str
    credentials: dict[str, dict[str, str]]
    tokens: dict[str, str] = field(default_factory=dict)
    pool: urllib3.PoolManager = field(
        default_factory=lambda: urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120), retries=False
        )
    )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: bytes | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        """One request through urllib3 (with ``Content-Length``); ``token`` is ``provider``
        or ``recipient``."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {self.token(token)}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        response = self.pool.request(
            method, self.base_url + path, body=body, headers=sent, redirect=False, **kwargs
        )
        return Answer(response.status, response.headers, response.data)

    def chunked(
        self,
        path: str,
        chunks: Iterable[bytes],
        *,
        token: str,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """A POST whose body is sent with ``Transfer-Encoding: chunked`` (no Content-Length),
        one HTTP chunk per item of ``chunks`` (http.client)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        try:
            conn.request(
                "POST",
                path,
                body=iter(chunks),
                headers={
                    "Authorization": f"Bearer {self.token(token)}",
                    "Content-Type": content_type,
                    **(headers or {}),
                },
                encode_chunked=True,
            )
            response = conn.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            conn.close()

    def token(self, kind: str) -> str:
        if kind not in self.tokens:
            credentials = self.credentials[kind]
            answer = self.request(
                "POST",
                "/api/v1/oauth/token",
                body=urlencode(
                    {
                        "grant_type": "client_credentials",
                        "client_id": credentials["client_id"],
                        "client_secret": credentials["secret"],
                    }
                ).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert answer.status == 200, answer.body
            self.tokens[kind] = answer.json()["access_token"]
        return self.tokens[kind]

    # what the provider API says about a dataset
    def provider_dataset(self, code: str) -> dict[str, Any]:
        answer = self.request("GET", "/api/v1/provider/datasets", token="provider")
        assert answer.status == 200, answer.body
        return next(item for item in answer.json() if item["code"] == code)

    def live_records(self, code: str) -> int:
        return self.provider_dataset(code)["records"]

    def loads(self, code: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/api/v1/provider/datasets/{code}/loads", token="provider")
        assert answer.status == 200, answer.body
        return answer.json()["items"]


class Browser:
    """A portal visitor: keeps the cookies (session, CSRF) between requests."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        answer = self.server.request(method, path, headers=headers, **kwargs)
        for value in answer.headers.getlist("Set-Cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(value)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return answer


# --- the server process ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scratch_database(tmp: Path) -> tuple[str, str | None]:
    """(DATABASE_URL of the scratch database, PostgreSQL admin URL to drop it or None)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp / 'e2e.sqlite3'}", None
    import psycopg

    base, _slash, name = url.rpartition("/")
    name = name.split("?")[0] or "dagr"
    scratch = f"{name[:40]}_e2e_{secrets.token_hex(4)}"
    admin = f"{base}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    return f"{base}/{scratch}", admin


def _drop_database(admin: str, url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(args: list[str], env: dict[str, str], log: Path) -> str:
    with log.open("ab") as sink:
        done = subprocess.run(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=sink,
            timeout=300, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({done.returncode}):\n{_tail(log)}")
    return done.stdout.decode()


def _wait_healthy(server: Server, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagr serve exited with {process.returncode}:\n{_tail(log)}")
        try:
            answer = server.request("GET", "/healthz", timeout=2)
            health = answer.json()
            if health["database"]["ok"] and health["worker"]["ok"]:
                return
            last = answer.body.decode()
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.3)
    pytest.fail(f"dagr serve not healthy after {START_TIMEOUT_S} s ({last}):\n{_tail(log)}")


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_pytest() -> None:
    """In the child before exec (Linux): SIGTERM to ``dagr serve`` when pytest itself dies
    (killed, not just failed), so that even then it stops granian and the worker. Only a call
    into libc loaded beforehand: nothing here may take a lock another thread could hold."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole process group (dagr serve, granian and its workers, the worker),
    SIGKILL to whatever is left after 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)  # anyone of the group still alive?
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def dagr_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    global _server_log
    tmp = tmp_path_factory.mktemp("dagr-serve")
    log = tmp / "server.log"
    _server_log = log
    database_url, admin = _scratch_database(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGR_", "PYTEST_"))}
    port = _free_port()
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        DAGR_VAR_DIR=str(tmp / "var"),
        DAGR_SITE_URL=f"http://127.0.0.1:{port}",
        DAGR_WEBHOOK_ALLOW_PRIVATE="1",
        DAGR_CKAN_ALLOW_PRIVATE="1",  # the CKAN stand-in of test_ckan_sync on loopback
        DAGR_TWO_FACTOR_ENFORCE="0",  # tests/conftest.py: the suite logs in without a code
        DAGR_LOG_LEVEL="WARNING",
        DAGR_STATS_INTERVAL_S="2",  # the statistics fold new accesses quickly (test_metrics)
        PYTHONUNBUFFERED="1",
    )
    process: subprocess.Popen | None = None
    try:
        _run(["-m", "dagr.cli", "migrate", "--noinput", "-v", "0"], env, log)
        credentials = json.loads(_run(["-m", "tests.e2e.setup_server"], env, log))
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "dagr.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--web-workers", "2"],
                env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
                preexec_fn=_die_with_pytest,
            )  # fmt: skip
        server = Server("127.0.0.1", port, database_url, credentials)
        _wait_healthy(server, process, log)
        yield server
    finally:
        if process is not None:
            _stop(process)
        if admin is not None:
            _drop_database(admin, database_url)
