"""`make bench-sync`: an initial sync of BENCH_PERSONS demo persons (default 1,000,000) through
the HTTP change feed and the sync connector into PostgreSQL.

    BENCH_PERSONS=1000000 make bench-sync

Steps: prepare the demo database exactly like ``bench/lookup.py`` (migrate + ``dagr demo
--persons N``, SQLite file kept in bench/out/ and shared with bench-lookup, so only the first
run pays for loading); register a recipient technical connection and an approved grant of every
field of the population register without conditions (every person is in the grant); start the
production web server (granian, WSGI) on loopback; then

(a) feed only: read the whole feed over HTTP with the connector's client (urllib3 + orjson), no
    target — ``feed_records_per_s``;
(b) full sync: ``dagr sync --once`` (a child process, as a recipient runs it) into a fresh
    PostgreSQL database (a scratch ``dagr_bench_sync_<pid>`` on BENCH_PG, dropped afterwards),
    timed from start to exit — ``records_per_s``.

Knobs: BENCH_PAGE (changes per feed request, 5000), BENCH_SERVER_DB (sqlite or postgres: where
DAGR itself keeps its data; sqlite — measured faster for the feed: at 20,000 persons 27,400
changes/s on SQLite vs 18,500 on PostgreSQL, and the 1M SQLite database is shared with
bench-lookup), BENCH_WORKERS (web processes, 1 — the connector reads one
page at a time, so more processes only compete for the 2 cores).
Ends with ``RESULT sync records_per_s=<n> feed_records_per_s=<n>``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import lookup  # noqa: E402  (the demo database preparation of bench-lookup)

PYTHON = sys.executable
PERSONS = lookup.PERSONS
PAGE = int(os.environ.get("BENCH_PAGE", "5000"))
SERVER_DB = os.environ.get("BENCH_SERVER_DB", "sqlite")
PG_ADMIN = lookup.PG_ADMIN
DATASET = "demo-population-register"
PERMISSION = "BENCH-SYNC-1"

SETUP = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from dagr.accounts.models import Institution, User
    from dagr.catalog.models import Dataset
    from dagr.connections.models import Connection
    from dagr.connections.services import connection_create
    from dagr.core.actors import SYSTEM
    from dagr.grants.models import Grant
    from dagr.grants.services import grant_approve, grant_request
    from dagr.records.models import Record

    dataset = Dataset.objects.get(code=%(dataset)r)
    tax = Institution.objects.get(short_name="NA")
    rep = User.objects.get(email="recipient@dagr.example")
    Connection.objects.filter(name="bench-sync").delete()
    conn, secret = connection_create(actor=SYSTEM, institution=tax, name="bench-sync",
                                     kind="recipient", token_lifetime_s=3600)
    if not Grant.objects.filter(dataset=dataset, permission_number=%(permission)r).exists():
        fields = [f["name"] for f in dataset.schema.definition["fields"]]
        grant = grant_request(actor=rep, recipient=tax, dataset=dataset, fields=fields,
                              conditions=[], legal_basis="Benchmark", purpose="Benchmark")
        grant_approve(actor=SYSTEM, grant=grant, permission_number=%(permission)r)
    live = Record.objects.filter(dataset=dataset, deleted_at=None).count()
    json.dump({"client_id": conn.client_id, "secret": secret, "records": live}, sys.stdout)
    """
)


def feed_only(port: int, client_id: str, secret: str) -> tuple[int, int, float]:
    from dagr_agent.sync.client import Client
    from dagr_agent.sync.config import DagrSettings

    settings = DagrSettings(url=f"http://127.0.0.1:{port}", client_id=client_id,
                            client_secret=secret)  # fmt: skip
    client = Client(settings, secret)
    cursor, records, pages = None, 0, 0
    started = time.perf_counter()
    while True:
        page = client.changes(DATASET, PERMISSION, cursor, PAGE)
        records += len(page["changes"])
        pages += 1
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return records, pages, time.perf_counter() - started


def full_sync(port: int, client_id: str, secret: str) -> tuple[int, float]:
    import psycopg

    name = f"dagr_bench_sync_{os.getpid()}"
    with psycopg.connect(PG_ADMIN + "/postgres", autocommit=True, connect_timeout=3) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    config = lookup.OUT / "sync-bench.yaml"
    target = PG_ADMIN.replace("postgres://", "postgresql+psycopg://", 1) + f"/{name}"
    config.write_text(json.dumps({
        "dagr": {"url": f"http://127.0.0.1:{port}", "client_id": client_id,
                 "client_secret_env": "DAGR_CLIENT_SECRET"},
        "target": {"url": target},
        "datasets": [{"code": DATASET, "permission_number": PERMISSION, "table": "persons",
                      "page_size": PAGE}],
    }))  # fmt: skip
    env = dict(os.environ, DAGR_CLIENT_SECRET=secret)
    try:
        started = time.perf_counter()
        subprocess.run([PYTHON, "-m", "dagr.cli", "sync", "--config", str(config), "--once"],
                       env=env, cwd=ROOT, check=True)  # fmt: skip
        seconds = time.perf_counter() - started
        with psycopg.connect(f"{PG_ADMIN}/{name}") as c:
            count = c.execute("SELECT count(*) FROM persons").fetchone()[0]  # type: ignore[index]
        return count, seconds
    finally:
        with psycopg.connect(PG_ADMIN + "/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    lookup.OUT.mkdir(parents=True, exist_ok=True)
    env = lookup.prepare(SERVER_DB)
    if env is None:
        raise SystemExit(f"the {SERVER_DB} server database is not available")
    code = SETUP % {"dataset": DATASET, "permission": PERMISSION}
    info = json.loads(lookup.run([PYTHON, "-c", code], env, capture_output=True,
                                 text=True).stdout)  # fmt: skip
    port = lookup.free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "granian", "--interface", "wsgi",
         "--workers", os.environ.get("BENCH_WORKERS", "1"), "--blocking-threads", "1",
         "--no-ws", "--port", str(port), "config.wsgi:application"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        lookup.wait_for(port)
        feed_records, pages, feed_s = feed_only(port, info["client_id"], info["secret"])
        synced, sync_s = full_sync(port, info["client_id"], info["secret"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    if feed_records != info["records"] or synced != info["records"]:
        raise SystemExit(
            f"record counts differ: dataset {info['records']}, feed {feed_records}, target {synced}"
        )
    feed_rate, sync_rate = feed_records / feed_s, synced / sync_s
    print()
    print(f"initial sync, {info['records']:,} persons, page {PAGE:,}, DAGR on {SERVER_DB}, "
          f"target PostgreSQL")  # fmt: skip
    print("{:<34} {:>10} {:>8} {:>10} {:>12}".format("run", "records", "pages", "seconds",
                                                     "records/s"))  # fmt: skip
    print(f"{'(a) feed over HTTP, no target':<34} {feed_records:>10,} {pages:>8,} "
          f"{feed_s:>10.1f} {feed_rate:>12,.0f}")  # fmt: skip
    print(f"{'(b) dagr sync → PostgreSQL':<34} {synced:>10,} {pages:>8,} "
          f"{sync_s:>10.1f} {sync_rate:>12,.0f}")  # fmt: skip
    print(f"RESULT sync records_per_s={sync_rate:.0f} feed_records_per_s={feed_rate:.0f}")


if __name__ == "__main__":
    main()
