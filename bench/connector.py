"""Connector throughput and memory: BENCH_N rows (default 1,000,000) from a PostgreSQL table and
from a MariaDB table into a DAGR dataset.

    BENCH_N=1000000 .venv/bin/python bench/connector.py          (make bench-connector)

1. Source tables: ``persons`` (id, personal_code, first_name, last_name, birth_date,
   changed_at) in a scratch PostgreSQL database and a scratch MariaDB database, both named
   ``dagr_agent_bench_src`` (BENCH_PG, default ``postgres://postgres@127.0.0.1:5432/postgres``;
   BENCH_MARIADB, default ``mysql+pymysql://root@127.0.0.1:3306``), filled once per run (not
   timed) and dropped at the end.
2. ``source``: the agent's ``sql`` source alone reads every row in batches (a child process per
   database, so its peak RSS is that of one read).
3. ``hosted``: the connector run by the server's own code (``dagr.connectors.services``:
   the engine and the loading service in one process) into a fresh scratch DAGR PostgreSQL
   database — BENCH_HOSTED=0 leaves it out.
4. ``remote``: ``dagr connector run --config connector.yaml`` (the agent, its own process)
   against ``dagr serve`` on a fresh scratch DAGR PostgreSQL database — BENCH_REMOTE=0 leaves
   it out. Its peak RSS is the agent's.
5. A table, then ``RESULT connector records_per_s=<n> peak_rss_mb=<n> …`` where
   ``records_per_s`` is the slower of the hosted runs (the target: ≥ 20,000) and
   ``peak_rss_mb`` the largest peak of any connector process (the target: ≤ 300, flat);
   ``hosted_<source>_per_cpu_s`` counts records per CPU-second of the connector process (the
   fairer figure on a shared machine: wall time also waits for other processes).
   A phase that failed or was skipped reports 0.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_MARIADB = "mysql+pymysql://root@127.0.0.1:3306"
SOURCE_DB = "dagr_agent_bench_src"
CHUNK = 20_000
FIRST = ("Anna", "Jānis", "Līga", "Pēteris", "Ilze", "Andris", "Zane", "Edgars")
LAST = ("Bērziņa", "Kalniņš", "Ozola", "Liepiņš", "Krūmiņa", "Jansons", "Vītola", "Zariņš")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rows(n: int):  # type: ignore[no-untyped-def]
    from datetime import date, datetime, timedelta

    from dagr.core.identifiers import make_new_personal_code

    start = datetime(2026, 1, 1)
    for i in range(n):
        yield (
            i + 1,
            make_new_personal_code(i),
            FIRST[i % len(FIRST)],
            f"{LAST[i % len(LAST)]}-{i % 997}",
            date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
            start + timedelta(seconds=i),
        )


def pg_source(n: int, pg: str) -> str:
    import psycopg

    admin = pg.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SOURCE_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SOURCE_DB}"')
    url = pg.rsplit("/", 1)[0] + "/" + SOURCE_DB
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE persons (id bigint PRIMARY KEY, personal_code varchar(11) NOT NULL, "
            "first_name varchar(50), last_name varchar(80), birth_date date, "
            "changed_at timestamp NOT NULL)"
        )
        conn.execute("CREATE INDEX persons_changed ON persons (changed_at)")
        with conn.cursor() as cursor, cursor.copy("COPY persons FROM STDIN") as copy:
            for row in rows(n):
                copy.write_row(row)
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def mariadb_source(n: int, maria: str) -> str:
    import pymysql

    host_port = maria.split("@", 1)[1]
    host, _, port = host_port.partition(":")
    conn = pymysql.connect(host=host, port=int(port or 3306), user="root", autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{SOURCE_DB}`")
            cursor.execute(f"CREATE DATABASE `{SOURCE_DB}` CHARACTER SET utf8mb4")
            cursor.execute(f"USE `{SOURCE_DB}`")
            cursor.execute(
                "CREATE TABLE persons (id bigint PRIMARY KEY, personal_code varchar(11) NOT NULL,"
                " first_name varchar(50), last_name varchar(80), birth_date date,"
                " changed_at datetime NOT NULL, KEY persons_changed (changed_at))"
            )
            batch = []
            for row in rows(n):
                batch.append(row)
                if len(batch) >= CHUNK:
                    cursor.executemany("INSERT INTO persons VALUES (%s,%s,%s,%s,%s,%s)", batch)
                    batch.clear()
            if batch:
                cursor.executemany("INSERT INTO persons VALUES (%s,%s,%s,%s,%s,%s)", batch)
    finally:
        conn.close()
    return f"{maria}/{SOURCE_DB}?charset=utf8mb4"


def drop_sources(pg: str, maria: str) -> None:
    import psycopg
    import pymysql

    with psycopg.connect(pg.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SOURCE_DB}" WITH (FORCE)')
    host, _, port = maria.split("@", 1)[1].partition(":")
    conn2 = pymysql.connect(host=host, port=int(port or 3306), user="root", autocommit=True)
    try:
        with conn2.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{SOURCE_DB}`")
    finally:
        conn2.close()


# --- phase: the source alone ------------------------------------------------------------------


def source_child(url: str) -> None:
    """In a child process: read every row through the sql source; one JSON line."""
    from dagr_agent.connector.sources import source_open

    source = source_open("sql", {"url": url, "table": "persons", "allow_internal": True}, {})
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    for batch in source.read(cursor_column="changed_at", batch_size=5000):
        count += len(batch)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    source.close()
    print(json.dumps({"rows": count, "seconds": seconds, "cpu_s": cpu,
                      "peak_rss_mb": peak_rss_mb()}))  # fmt: skip


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        [PYTHON, __file__, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return {"rows": 0, "seconds": 0.0, "peak_rss_mb": 0.0, "error": done.stderr[-200:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- phases: hosted and remote runs --------------------------------------------------------

SCHEMA = {
    "key": "personal_code",
    "fields": [
        {"name": "personal_code", "title_lv": "Personas kods", "title_en": "Personal code",
         "type": "string", "required": True, "personal": True, "identifier": "personal_code"},
        {"name": "first_name", "title_lv": "Vārds", "title_en": "First name", "type": "string"},
        {"name": "last_name", "title_lv": "Uzvārds", "title_en": "Last name", "type": "string",
         "required": True},
        {"name": "birth_date", "title_lv": "Dzimšanas datums", "title_en": "Birth date",
         "type": "date"},
    ],
}  # fmt: skip


def connector_config(url: str) -> dict:
    return {
        "source": {
            "kind": "sql",
            "options": {"url": url, "table": "persons", "allow_internal": True},
        },
        "mapping": {
            "key": "personal_code",
            "fields": [
                {"field": f, "column": f}
                for f in ("personal_code", "first_name", "last_name", "birth_date")
            ],
        },
        "mode": "incremental",
        "cursor": {"column": "changed_at", "type": "timestamp"},
        "drift": "ignore",
    }


SETUP = """
import json, sys
import django
django.setup()
from dagr.accounts.models import Institution
from dagr.accounts.services import institution_create
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_create
from dagr.connections.services import connection_create
from dagr.connectors import services
from dagr.core.actors import SYSTEM

schema, sources, runner = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
provider = institution_create(actor=SYSTEM, name="Bench provider",
                              registration_number="40003000002",
                              kind=Institution.Kind.PROVIDER)
out = {"connectors": {}}
for label, config in sources.items():
    dataset = dataset_create(actor=SYSTEM, provider=provider, code=f"bench-{label}",
                             title_lv=label, title_en=label, schema=schema,
                             status=Dataset.Status.PRODUCTION)
    connector = services.connector_create(actor=SYSTEM, dataset=dataset, name=label,
                                          config=config, runner=runner)
    out["connectors"][label] = connector.pk
conn, secret = connection_create(actor=SYSTEM, institution=provider, name="bench-agent",
                                 kind="provider", token_lifetime_s=24 * 3600)
out.update(client_id=conn.client_id, secret=secret)
json.dump(out, sys.stdout)
"""

HOSTED = """
import json, resource, sys, time
import django
django.setup()
from dagr.connectors import services
from dagr.connectors.models import Connector
from dagr.core.actors import SYSTEM

connector = Connector.objects.get(pk=int(sys.argv[1]))
started, cpu = time.perf_counter(), time.process_time()
run = services.run_hosted(actor=SYSTEM, connector=connector)
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"rows": run.created + run.updated + run.unchanged, "seconds": seconds,
                  "cpu_s": cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "status": run.status,
                  "error": run.error[:200] if run.status != "succeeded" else ""}))
"""


class DagrDatabase:
    """A scratch DAGR PostgreSQL database, migrated, with the bench's connectors."""

    def __init__(self, pg: str, tmp: Path, name: str) -> None:
        import psycopg

        self.admin = pg.rsplit("/", 1)[0] + "/postgres"
        self.name = f"dagr_bench_{name}_{os.getpid()}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGR_", "DATABASE_"))}
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=pg.rsplit("/", 1)[0] + "/" + self.name,
            DAGR_VAR_DIR=str(tmp / name),
            DAGR_LOG_LEVEL="WARNING",
        )
        subprocess.run([PYTHON, "-m", "dagr.cli", "migrate", "--noinput", "-v", "0"],
                       env=self.env, cwd=ROOT, check=True, capture_output=True)  # fmt: skip

    def setup(self, sources: dict[str, str], runner: str) -> dict:
        configs = {label: connector_config(url) for label, url in sources.items()}
        done = subprocess.run(
            [PYTHON, "-c", SETUP, json.dumps(SCHEMA), json.dumps(configs), runner],
            env=self.env, cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(done.stdout)

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_hosted(sources: dict[str, str], n: int, pg: str, tmp: Path) -> list[tuple[str, dict]]:
    db = DagrDatabase(pg, tmp, "hosted")
    try:
        info = db.setup(sources, "hosted")
        out = []
        for label, pk in info["connectors"].items():
            done = subprocess.run([PYTHON, "-c", HOSTED, str(pk)], env=db.env, cwd=ROOT,
                                  capture_output=True, text=True, check=False)  # fmt: skip
            if done.returncode != 0:
                out.append((label, {"rows": 0, "seconds": 0.0, "peak_rss_mb": 0.0,
                                    "error": done.stderr[-200:]}))  # fmt: skip
                continue
            out.append((label, json.loads(done.stdout.strip().splitlines()[-1])))
        return out
    finally:
        db.drop()


def run_remote(sources: dict[str, str], n: int, pg: str, tmp: Path) -> list[tuple[str, dict]]:
    import signal
    import socket
    import urllib.request

    import yaml

    db = DagrDatabase(pg, tmp, "remote")
    server = None
    try:
        info = db.setup(sources, "remote")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [PYTHON, "-m", "dagr.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--web-workers", "2"],
            env=db.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        out = []
        for label, pk in info["connectors"].items():
            config = tmp / f"connector-{label}.yaml"
            config.write_text(yaml.safe_dump({
                "dagr": {"url": f"http://127.0.0.1:{port}", "client_id": info["client_id"],
                         "client_secret_env": "DAGR_CLIENT_SECRET"},
                "connector": pk,
            }))  # fmt: skip
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGR_", "DJANGO_"))}
            env["DAGR_CLIENT_SECRET"] = info["secret"]
            started = time.perf_counter()
            agent = subprocess.Popen(
                [PYTHON, "-m", "dagr_agent", "connector", "run", "--config", str(config)],
                env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            assert agent.stderr is not None
            stderr = agent.stderr.read().decode("utf-8", "replace")
            _pid, status, usage = os.wait4(agent.pid, 0)
            seconds = time.perf_counter() - started
            agent.returncode = os.waitstatus_to_exitcode(status)
            result = {"rows": 0, "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
                      "cpu_s": usage.ru_utime + usage.ru_stime}  # fmt: skip
            if agent.returncode != 0:
                result["error"] = stderr[-200:]
                print(stderr[-3000:], file=sys.stderr)
            else:
                import re

                found = re.search(r"created (\d+), updated (\d+), unchanged (\d+)", stderr)
                result["rows"] = sum(int(g) for g in found.groups()) if found else 0
            out.append((label, result))
        return out
    finally:
        if server is not None:
            try:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(server.pid, signal.SIGKILL)
        db.drop()


def main() -> None:
    n = int(os.environ.get("BENCH_N", "1000000"))
    pg = os.environ.get("BENCH_PG", DEFAULT_PG)
    maria = os.environ.get("BENCH_MARIADB", DEFAULT_MARIADB)
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-connector-"))
    results: list[tuple[str, str, dict]] = []
    try:
        started = time.perf_counter()
        sources = {"postgresql": pg_source(n, pg), "mariadb": mariadb_source(n, maria)}
        print(f"source tables of {n:,} rows written in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)  # fmt: skip
        for label, url in sources.items():
            results.append(("source", label, run_child(["--source-child", url])))
        phases = sys.modules[__name__]
        for phase in ("hosted", "remote"):
            if os.environ.get(f"BENCH_{phase.upper()}", "1") == "0":
                continue
            runner = getattr(phases, f"run_{phase}")
            for label, result in runner(sources, n, pg, tmp):
                results.append((phase, label, result))
    finally:
        drop_sources(pg, maria)
    print_results(n, results)


def print_results(n: int, results: list[tuple[str, str, dict]]) -> None:
    print(f"\nConnector: {n:,} rows per run\n")
    print(f"{'phase':<8} {'source':<11} {'rows':>10} {'seconds':>8} {'rows/s':>9} "
          f"{'CPU s':>7} {'rows/CPU-s':>11} {'peak RSS MB':>12}")  # fmt: skip
    for phase, label, r in results:
        rate = r["rows"] / r["seconds"] if r.get("seconds") and not r.get("error") else 0
        cpu = r.get("cpu_s") or 0.0
        per_cpu = r["rows"] / cpu if cpu and not r.get("error") else 0
        failed = f"  FAILED {r['error'][:80]}" if r.get("error") else ""
        print(f"{phase:<8} {label:<11} {r['rows']:>10,} {r['seconds']:>8.1f} {rate:>9,.0f} "
              f"{cpu:>7.1f} {per_cpu:>11,.0f} {r['peak_rss_mb']:>12.0f}{failed}")  # fmt: skip
    print(f"(CPU s: the connector process only — not the database servers; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")  # fmt: skip

    def rate_of(phase: str) -> dict[str, int]:
        return {
            label: int(r["rows"] / r["seconds"]) if r.get("seconds") and not r.get("error") else 0
            for p, label, r in results
            if p == phase
        }

    hosted, remote, source = rate_of("hosted"), rate_of("remote"), rate_of("source")
    hosted_cpu = {
        label: int(r["rows"] / r["cpu_s"]) if r.get("cpu_s") and not r.get("error") else 0
        for p, label, r in results
        if p == "hosted"
    }
    peak = max((r["peak_rss_mb"] for p, _, r in results if p != "source"), default=0.0)
    fields = {
        "records_per_s": min(hosted.values(), default=0),
        "peak_rss_mb": round(peak),
        **{f"hosted_{k}_per_s": v for k, v in hosted.items()},
        **{f"hosted_{k}_per_cpu_s": v for k, v in hosted_cpu.items()},
        **{f"remote_{k}_per_s": v for k, v in remote.items()},
        **{f"source_{k}_rows_per_s": v for k, v in source.items()},
        "source_peak_rss_mb": round(
            max((r["peak_rss_mb"] for p, _, r in results if p == "source"), default=0.0)
        ),
    }
    print("\nRESULT connector " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--source-child"]:
        source_child(sys.argv[2])
    else:
        main()
