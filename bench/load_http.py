"""Load throughput over HTTP: an NDJSON file of demo persons streamed to the provider API of the
real server (``dagr serve``: granian WSGI, 2 processes, and the worker), on SQLite and on
PostgreSQL. Called by ``bench/load.py`` (``make bench-load``) after the service-level loads;
alone:

    BENCH_N=100000 .venv/bin/python bench/load_http.py

For each backend: a fresh database (a temporary SQLite file; a scratch PostgreSQL database
``dagr_bench_http_<pid>`` on ``BENCH_PG``, dropped afterwards, skipped with a clear line when it
cannot be created), ``dagr migrate``, a provider institution with the demo population register's
schema as a production dataset and a provider connection, then ``dagr serve`` on a free loopback
port. The timed part is one ``POST /api/v1/provider/datasets/bench-persons/records`` with
``Content-Type: application/x-ndjson`` and ``Transfer-Encoding: chunked`` (no Content-Length; the
file is read and sent 1 MB at a time) until the answer arrives; the answer must say
``succeeded`` with ``received`` equal to the number of lines, or the run counts as failed.
Ends (alone) with ``RESULT load_http sqlite_http_rows_per_s=<n> postgres_http_rows_per_s=<n>``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DATASET = "bench-persons"
CHUNK = 1024 * 1024
ADDRESSES = 20_000

SETUP = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from dagr.accounts.models import Institution
    from dagr.accounts.services import institution_create
    from dagr.catalog.models import Dataset
    from dagr.catalog.services import dataset_create
    from dagr.connections.services import connection_create
    from dagr.core.actors import SYSTEM
    from dagr.demo.schemas import PERSONS

    provider = institution_create(actor=SYSTEM, name="Bench provider",
                                  registration_number="40003000002",
                                  kind=Institution.Kind.PROVIDER)
    dataset_create(actor=SYSTEM, provider=provider, code=%(dataset)r,
                   title_lv="Personas (mērījums)", title_en="Persons (benchmark)",
                   schema=PERSONS["schema"], status=Dataset.Status.PRODUCTION)
    conn, secret = connection_create(actor=SYSTEM, institution=provider, name="bench-http",
                                     kind="provider", token_lifetime_s=24 * 3600)
    json.dump({"client_id": conn.client_id, "secret": secret}, sys.stdout)
    """
)


def generate_ndjson(path: Path, n: int) -> float:
    """``n`` demo persons, one JSON object per line (the generators of ``dagr demo``)."""
    import orjson

    from dagr.demo import generators

    started = time.perf_counter()
    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(random.Random(1), ADDRESSES)
    )
    for _ in addresses:
        pass
    with path.open("wb") as handle:
        for person in generators.generate_persons(random.Random(3), n, buildings):
            handle.write(orjson.dumps(person) + b"\n")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagr serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("dagr serve did not answer /healthz within 60 s")


def _token(port: int, client_id: str, secret: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    conn.request("POST", "/api/v1/oauth/token", body,
                 {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    response = conn.getresponse()
    payload = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"token request failed: {payload}")
    return payload["access_token"]


def _stream(path: Path) -> object:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _post_ndjson(port: int, bearer: str, path: Path) -> tuple[int, dict, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    started = time.perf_counter()
    conn.request(
        "POST",
        f"/api/v1/provider/datasets/{DATASET}/records",
        body=_stream(path),
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/x-ndjson"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    payload = json.loads(response.read())
    seconds = time.perf_counter() - started
    conn.close()
    return response.status, payload, seconds


def _stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


def load_over_http(label: str, ndjson: Path, n: int, env: dict[str, str], log: Path) -> dict:
    """One backend: migrate, set up, serve, stream the file; a result dict (``error`` set when
    the load did not succeed with every line received, or the server could not be run)."""
    try:
        return _load_over_http(label, ndjson, n, env, log)
    except Exception as exc:  # report it and go on with the other backend
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        print(f"{label} over HTTP failed: {exc!r}\n{tail}", file=sys.stderr)
        return {"backend": label, "rows": 0, "seconds": 0.0, "error": repr(exc)[:120]}


def _load_over_http(label: str, ndjson: Path, n: int, env: dict[str, str], log: Path) -> dict:
    with log.open("ab") as sink:
        subprocess.run([PYTHON, "-m", "dagr.cli", "migrate", "--noinput", "-v", "0"], env=env,
                       cwd=ROOT, stdout=sink, stderr=sink, check=True)  # fmt: skip
        info = json.loads(
            subprocess.run(
                [PYTHON, "-c", SETUP % {"dataset": DATASET}],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=sink,
                check=True,
            ).stdout
        )
        port = _free_port()
        server = subprocess.Popen(
            [PYTHON, "-m", "dagr.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--web-workers", "2"],
            env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_until_up(port, server)
        bearer = _token(port, info["client_id"], info["secret"])
        status, payload, seconds = _post_ndjson(port, bearer, ndjson)
    finally:
        _stop(server)
    result = {"backend": label, "rows": payload.get("received", 0), "seconds": seconds}
    if status != 200 or payload.get("status") != "succeeded" or payload.get("received") != n:
        result["error"] = (
            f"HTTP {status}, status {payload.get('status')}, received {payload.get('received')} "
            f"of {n} lines"
        )
    return result


def run_all(n: int, ndjson: Path, tmp: Path, pg_url: str) -> tuple[list[dict], list[str]]:
    """Both backends; (results, notes)."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGR_", "DATABASE_"))}
    base_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    base_env["DAGR_LOG_LEVEL"] = "WARNING"
    results: list[dict] = []
    notes: list[str] = []
    sqlite_env = {
        **base_env,
        "DAGR_VAR_DIR": str(tmp / "http-sqlite"),
        "DATABASE_URL": f"sqlite:///{tmp / 'http.sqlite3'}",
    }
    results.append(load_over_http("sqlite", ndjson, n, sqlite_env, tmp / "http-sqlite.log"))

    import psycopg

    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"dagr_bench_http_{os.getpid()}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # not reachable, or no right to create a database
        notes.append(
            f"SKIPPED postgresql over HTTP: cannot create a scratch database at {admin} "
            f"({exc.__class__.__name__}: {str(exc).strip()[:120]})"
        )
        return results, notes
    try:
        pg_env = {
            **base_env,
            "DAGR_VAR_DIR": str(tmp / "http-pg"),
            "DATABASE_URL": pg_url.rsplit("/", 1)[0] + "/" + name,
        }
        results.append(load_over_http("postgresql", ndjson, n, pg_env, tmp / "http-pg.log"))
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results, notes


def rate(results: list[dict], backend: str) -> int:
    """Rows per second of a successful load, else 0."""
    for r in results:
        if r["backend"] == backend and not r.get("error") and r["seconds"]:
            return round(r["rows"] / r["seconds"])
    return 0


def print_table(n: int, results: list[dict], notes: list[str]) -> None:
    print(f"\nDAGR HTTP load — {n:,} demo persons as NDJSON, chunked, through dagr serve\n")
    print(f"{'backend':<12} {'rows':>10} {'seconds':>9} {'rows/s':>9}  note")
    print("-" * 60)
    for r in results:
        per_s = r["rows"] / r["seconds"] if r["seconds"] else 0
        print(
            f"{r['backend']:<12} {r['rows']:>10,} {r['seconds']:>9.1f} {per_s:>9,.0f}  "
            f"{r.get('error', '')}"
        )
    for note in notes:
        print(note)


def main() -> None:
    n = int(os.environ.get("BENCH_N", "1000000"))
    pg_url = os.environ.get("BENCH_PG", DEFAULT_PG)
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-http-"))
    try:
        sys.path.insert(0, str(ROOT))
        os.environ["DAGR_VAR_DIR"] = str(tmp / "gen")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        ndjson = tmp / "persons.ndjson"
        gen_s = generate_ndjson(ndjson, n)
        print(f"generated {n:,} persons into {ndjson} in {gen_s:.1f} s")
        results, notes = run_all(n, ndjson, tmp, pg_url)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    print_table(n, results, notes)
    print(
        f"RESULT load_http sqlite_http_rows_per_s={rate(results, 'sqlite')} "
        f"postgres_http_rows_per_s={rate(results, 'postgresql')}"
    )
    if not any(not r.get("error") for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
