"""`make bench-lookup`: get-by-identifier through HTTP with token authentication, a grant with two
conditions and the access audit on — on SQLite and PostgreSQL, at 1 and 16 concurrent clients —
plus batch lookups.

    BENCH_PERSONS=1000000 BENCH_SECONDS=15 make bench-lookup

Knobs: BENCH_BACKENDS (sqlite,postgres), BENCH_WORKERS (web processes, 2),
BENCH_ROLLUPS=1 (also measure the statistics' cost on this hot path: 16 clients with the rollup
job off, on — a process calling ``dagr.dashboard.services.stats_periodic`` every
BENCH_ROLLUP_INTERVAL_S, default 5 s, six times as often as the worker's default — and off
again, in one run; the rollups are caught up and the sizes measured before the "on" phase),
BENCH_SUBJECT_INDEX=0 (do not run the worker's subject index job during the windows; by
default the index is caught up before each group of windows — the floor's and DAGR's alike —
and the job runs during it as ``dagr worker`` would, see ``SUBJECT_INDEX_LOOP``; on SQLite the
worker's WAL checkpoint job runs throughout in any case, see ``CHECKPOINT_LOOP``),
BENCH_THREADS (blocking threads per process, 1 — more threads or processes than cores measured
slower on this 2-core machine: 4 threads 833 req/s, 3 processes 875 req/s, vs 1,019 for 2×1).

Steps per backend: migrate and load the demo registers (kept in bench/out/ between runs, so only
the first run pays for loading), register a recipient technical connection and an approved grant
(fields: personal code, names, birth date, declared address; conditions: adult — birth date older
than 18 years — and citizenship one of LVA/LTU/EST), start the production web server (granian,
WSGI, 2 processes) on loopback, obtain a token, then drive it with `wrk` (Debian package) using a
Lua script that asks for random existing personal codes. Batch lookups are timed with a small
Python client (1,000 identifiers per call). The load tool shares the machine's 2 cores with the
server; figures are comparable only within one run.

The floor (issue #19): ``bench/floor_server.py``, a few dozen lines of raw WSGI under the same
granian settings over the same database (same JWT, one indexed SELECT with the grant's
conditions, the same fields, the same audit rows committed before answering, orjson), runs on
BENCH_PORT + 1 (DAGR on BENCH_PORT, default 8320) and is measured with the same wrk load right
before and right after DAGR; the RESULT line gives, for 16 clients, each backend's floor req/s
(the mean of the two) and DAGR's ratio to it, and ``audit_gap``: the data requests DAGR answered
(its own request counters, prometheus-client multi-process files) minus the access entries it
wrote — 0 when every answered request has its entry.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
PERSONS = int(os.environ.get("BENCH_PERSONS", "1000000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite,postgres").split(",")
PG_ADMIN = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DATASET = "demo-population-register"
PERMISSION = "BENCH-LOOKUP-1"

SETUP = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from datetime import date
    from django.db import connection
    from dagr.accounts.models import Institution, Membership
    from dagr.catalog.models import Dataset
    from dagr.connections.models import Connection
    from dagr.connections.services import connection_create
    from dagr.core.actors import SYSTEM
    from dagr.grants.models import Grant
    from dagr.grants.services import grant_approve, grant_request
    from dagr.accounts.models import User

    dataset = Dataset.objects.get(code=%(dataset)r)
    tax = Institution.objects.get(short_name="NA")
    rep = User.objects.get(email="recipient@dagr.example")
    Connection.objects.filter(name="bench-lookup").delete()
    conn, secret = connection_create(actor=SYSTEM, institution=tax, name="bench-lookup",
                                      kind="recipient", token_lifetime_s=3600)
    if not Grant.objects.filter(dataset=dataset, permission_number=%(permission)r).exists():
        grant = grant_request(actor=rep, recipient=tax, dataset=dataset,
            fields=["personal_code", "first_name", "last_name", "birth_date",
                    "declared_address_code"],
            conditions=[{"field": "birth_date", "op": "older_than", "value": {"years": 18}},
                        {"field": "citizenship", "op": "in", "value": ["LVA", "LTU", "EST"]}],
            legal_basis="Benchmark", purpose="Benchmark")
        grant_approve(actor=SYSTEM, grant=grant, permission_number=%(permission)r)
    from dagr.grants.cache import grant_cache
    from dagr.records.models import Record
    grant_cache.invalidate()
    adult = date.today().replace(year=date.today().year - 18).isoformat()
    keys = [key for key, data in Record.objects.filter(dataset=dataset, deleted_at=None)
            .order_by("id").values_list("key", "data")[:300000]
            if data.get("birth_date", "9999") <= adult
            and data.get("citizenship") in ("LVA", "LTU", "EST")][:200000]
    json.dump({"client_id": conn.client_id, "secret": secret, "keys": keys,
               "institution_id": tax.pk}, sys.stdout)
    """
)

WRK_SCRIPT = """
local keys = {}
for line in io.lines("%(keys)s") do keys[#keys + 1] = line end
math.randomseed(42)
request = function()
  local key = keys[math.random(#keys)]
  return wrk.format("GET", "/api/v1/data/%(dataset)s/records/personal_code/" .. key,
    {["Authorization"] = "Bearer %(token)s", ["X-Permission-Number"] = "%(permission)s"})
end
"""


def run(cmd: list[str], env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


PORT_BASE = int(os.environ.get("BENCH_PORT", "8320"))  # DAGR, floor: PORT_BASE, PORT_BASE + 1

COUNT_ENTRIES = (
    "import django; django.setup(); from dagr.audit.models import AccessEntry; "
    "print(AccessEntry.objects.exclude(segment__startswith='floor-').count())"
)


def entries_count(env: dict[str, str]) -> int:
    """Access entries written by DAGR (the floor server's segments aside)."""
    out = run([PYTHON, "-c", COUNT_ENTRIES], env, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def served_count(metrics_dir: Path) -> int:
    """Data requests DAGR answered (any status), from its processes' request counters
    (prometheus-client multi-process files): the token request aside, every one of them must
    have its access entry."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    total = 0.0
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == "dagr_http_requests_total" and "/data/" in sample.labels["route"]:
                total += sample.value
    return int(total)


def granian(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    """The production server's settings (``dagr serve``): WSGI, BENCH_WORKERS processes (2),
    BENCH_THREADS blocking threads each (1)."""
    return subprocess.Popen(
        [PYTHON, "-m", "granian", "--interface", "wsgi",
         "--workers", os.environ.get("BENCH_WORKERS", "2"),
         "--blocking-threads", os.environ.get("BENCH_THREADS", "1"), "--no-ws",
         "--port", str(port), app],
        env=env, cwd=ROOT, stdout=(OUT / f"server-{port}.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with its workers
    )  # fmt: skip


def stop(server: subprocess.Popen) -> None:
    """The server and its worker processes (its process group)."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # a worker that outlived its parent


def prepare(backend: str) -> dict[str, str] | None:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", DAGR_VAR_DIR=str(OUT / "var"))
    env.pop("DAGR_DEBUG", None)
    if backend == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{OUT / f'lookup-{PERSONS}.sqlite3'}"
    else:
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN + "/postgres", autocommit=True, connect_timeout=3) as c:
                # BENCH_PG_DB: a database of one's own (a schema change must not touch the
                # shared bench database that other checkouts use)
                name = os.environ.get("BENCH_PG_DB") or f"dagr_bench_lookup_{PERSONS}"
                if not c.execute("SELECT 1 FROM pg_database WHERE datname=%s", [name]).fetchone():
                    c.execute(f'CREATE DATABASE "{name}"')
        except Exception as exc:  # report it and go on with the other backend
            print(f"SKIPPED postgres: {exc}")
            return None
        env["DATABASE_URL"] = f"{PG_ADMIN}/{name}"
    run([PYTHON, "-m", "dagr.cli", "migrate", "-v", "0"], env)
    started = time.perf_counter()
    run([PYTHON, "-m", "dagr.cli", "demo", "--persons", str(PERSONS)], env,
        stdout=subprocess.DEVNULL)  # fmt: skip
    print(f"[{backend}] demo data ready in {time.perf_counter() - started:.0f} s")
    return env


def setup_grant(env: dict[str, str]) -> dict:
    code = SETUP % {"dataset": DATASET, "permission": PERMISSION}
    out = run([PYTHON, "-c", code], env, capture_output=True, text=True).stdout
    return json.loads(out)


def token(port: int, client_id: str, secret: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    conn.request("POST", "/api/v1/oauth/token", body,
                 {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    response = conn.getresponse()
    payload = json.loads(response.read())
    if response.status != 200:
        raise SystemExit(f"token request failed: {payload}")
    return payload["access_token"]


def wait_for(port: int) -> None:
    for _ in range(900):  # start-up takes seconds on a busy machine
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def wrk(port: int, clients: int, script: Path) -> dict[str, float]:
    threads = min(clients, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{SECONDS}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": pct("50"),
        "p99": pct("99"),
        "errors": int(bad.group(1)) if bad else 0,
    }


def batch(port: int, bearer: str, keys: list[str]) -> float:
    rng = random.Random(7)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {bearer}", "X-Permission-Number": PERMISSION,
               "Content-Type": "application/json"}  # fmt: skip
    returned, started = 0, time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        body = json.dumps({"field": "personal_code", "values": rng.sample(keys, 1000)})
        conn.request("POST", f"/api/v1/data/{DATASET}/lookup", body, headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        if response.status != 200:
            raise SystemExit(f"batch lookup failed: {payload}")
        returned += len(payload["records"]) + len(payload["not_found"])
    return returned / (time.perf_counter() - started)


ROLLUP_LOOP = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from dagr.dashboard.services import stats_periodic
    interval = float(sys.argv[1])
    while True:
        started = time.perf_counter()
        folded = stats_periodic()
        print(f"folded {folded} in {time.perf_counter() - started:.2f} s", flush=True)
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    """
)


# The worker's job that indexes the access entries' subjects after commit (``dagr.audit.subjects``),
# run beside DAGR while it is measured, as ``dagr worker`` does in production: the index inserts
# the requests no longer make are still paid on the same cores. BENCH_SUBJECT_INDEX=0: not run.
SUBJECT_INDEX_LOOP = textwrap.dedent(
    """
    import time
    import django
    django.setup()
    from django.conf import settings
    from dagr.audit.subjects import subject_index_run
    interval = settings.AUDIT_SUBJECT_INDEX_INTERVAL_S
    print("started", flush=True)
    while True:
        started = time.perf_counter()
        done = subject_index_run()
        print(f"indexed {done.subjects} subjects of {done.entries} entries in "
              f"{time.perf_counter() - started:.2f} s", flush=True)
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    """
)


# The worker's WAL checkpoint job on SQLite (``dagr.core.db.sqlite.checkpoint``: the web
# processes' commits leave checkpoints to it), run as ``dagr worker`` runs it, from the server's
# start to its end — warm-up and every window, the floor's and DAGR's alike.
CHECKPOINT_LOOP = textwrap.dedent(
    """
    import signal, threading
    import django
    django.setup()
    from django.conf import settings
    from dagr.core.management.commands.worker import _periodic
    path = "dagr.core.db.sqlite.checkpoint.wal_checkpoint_periodic"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *args: stop.set())
    job = threading.Thread(target=_periodic, args=(path, settings.DAGR_PERIODIC_JOBS[path], stop))
    job.start()
    print("started", flush=True)
    job.join()
    """
)


@contextlib.contextmanager
def checkpoint_job(backend: str, env: dict[str, str]) -> Iterator[None]:
    if backend != "sqlite":
        yield
        return
    loop = subprocess.Popen([PYTHON, "-c", CHECKPOINT_LOOP], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        if not loop.stdout or loop.stdout.readline().strip() != "started":
            raise SystemExit("the checkpoint job did not start")
        yield
    finally:
        loop.send_signal(signal.SIGTERM)
        loop.communicate(timeout=60)


@contextlib.contextmanager
def subject_index_job(
    env: dict[str, str], report: dict[str, list[str]], window: str
) -> Iterator[None]:
    """The index caught up first (``dagr audit index-subjects``: no window pays for an earlier
    one's entries), then the subject index job running during the window; its runs are reported
    into ``report[window]``."""
    runs = report.setdefault(window, [])
    if os.environ.get("BENCH_SUBJECT_INDEX", "1") == "0":
        yield
        return
    run([PYTHON, "-m", "dagr.cli", "audit", "index-subjects"], env, stdout=subprocess.DEVNULL)
    loop = subprocess.Popen([PYTHON, "-c", SUBJECT_INDEX_LOOP], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        if not loop.stdout or loop.stdout.readline().strip() != "started":
            raise SystemExit("the subject index job did not start")
        yield
    finally:
        loop.send_signal(signal.SIGTERM)
        out, _ = loop.communicate(timeout=60)
        runs.extend(line for line in out.splitlines() if line.startswith("indexed"))


def rollups_on_off(port: int, script: Path, env: dict[str, str]) -> dict[str, float]:
    """req/s at 16 clients: rollup job off, on, off (one run, so the figures compare)."""
    interval = os.environ.get("BENCH_ROLLUP_INTERVAL_S", "5")
    off1 = wrk(port, 16, script)
    catch_up = [
        PYTHON, "-c",
        "import django; django.setup(); from dagr.dashboard.services import stats_periodic; "
        "stats_periodic()",
    ]  # fmt: skip
    run(catch_up, env, stdout=subprocess.DEVNULL)
    loop = subprocess.Popen([PYTHON, "-c", ROLLUP_LOOP, interval], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        # its first run (at once, nothing to fold) shows that its start-up is over: measure
        # the job, not Python importing Django
        first = loop.stdout.readline() if loop.stdout else ""
        on = wrk(port, 16, script)
    finally:
        loop.send_signal(signal.SIGTERM)
        out, _ = loop.communicate(timeout=30)
    runs = [line for line in out.splitlines() if line.startswith("folded")]
    if not first.startswith("folded"):
        raise SystemExit("the rollup job did not start")
    off2 = wrk(port, 16, script)
    print(f"  rollup job runs during 'on': {'; '.join(runs)}")
    return {
        "off1_rps": off1["rps"], "on_rps": on["rps"], "off2_rps": off2["rps"],
        "off1_p99": off1["p99"], "on_p99": on["p99"], "off2_p99": off2["p99"],
    }  # fmt: skip


def bench(backend: str) -> dict[str, float] | None:
    env = prepare(backend)
    if env is None:
        return None
    info = setup_grant(env)
    keys_file = OUT / f"keys-{backend}.txt"
    keys_file.write_text("\n".join(info["keys"]) + "\n")
    port, floor_port = PORT_BASE, PORT_BASE + 1
    for busy in (port, floor_port):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", busy), timeout=0.2).close()
            raise SystemExit(f"port {busy} is in use (BENCH_PORT chooses others)")
    metrics_dir = OUT / f"metrics-{backend}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    entries_before = entries_count(env)
    server = granian(
        "config.wsgi:application", port, {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    )
    floor_env = {**env, "FLOOR_DATASET": DATASET, "FLOOR_PERMISSION": PERMISSION,
                 "FLOOR_INSTITUTION": str(info["institution_id"]),
                 "PYTHONPATH": str(ROOT)}  # fmt: skip
    floor = granian("bench.floor_server:application", floor_port, floor_env)
    jobs = contextlib.ExitStack()
    try:
        jobs.enter_context(checkpoint_job(backend, env))
        wait_for(port)
        wait_for(floor_port)
        bearer = token(port, info["client_id"], info["secret"])
        script = OUT / f"lookup-{backend}.lua"
        script.write_text(WRK_SCRIPT % {"keys": keys_file, "dataset": DATASET, "token": bearer,
                                        "permission": PERMISSION})  # fmt: skip
        wrk(floor_port, 4, script)  # warm-up: caches, connections, page cache
        wrk(port, 4, script)
        # Each server pays for indexing its own entries' subjects: the index is caught up
        # before each group of windows and the job runs during it (floor and DAGR alike).
        index_runs: dict[str, list[str]] = {}
        with subject_index_job(env, index_runs, "floor before"):
            floor_before = {c: wrk(floor_port, c, script) for c in (1, 16)}
        with subject_index_job(env, index_runs, "DAGR"):
            one = wrk(port, 1, script)
            sixteen = wrk(port, 16, script)
        with subject_index_job(env, index_runs, "floor after"):
            floor_after = {c: wrk(floor_port, c, script) for c in (1, 16)}
        with subject_index_job(env, index_runs, "DAGR batch"):
            batch_rate = batch(port, bearer, info["keys"])
        for window, window_runs in index_runs.items():
            indexed = sum(int(line.split()[1]) for line in window_runs)
            print(
                f"  [{backend}] subject index job during {window}: {len(window_runs)} runs, "
                f"{indexed:,} subjects indexed"
            )
        rollups = rollups_on_off(port, script, env) if os.environ.get("BENCH_ROLLUPS") else {}
    finally:
        jobs.close()
        stop(server)
        stop(floor)
    served = served_count(metrics_dir)
    entries = entries_count(env) - entries_before
    floor_rps = {c: (floor_before[c]["rps"] + floor_after[c]["rps"]) / 2 for c in (1, 16)}
    return {
        "rps_1": one["rps"], "p50_1": one["p50"], "p99_1": one["p99"],
        "rps_16": sixteen["rps"], "p50_16": sixteen["p50"], "p99_16": sixteen["p99"],
        "errors": one["errors"] + sixteen["errors"], "batch": batch_rate,
        "floor_rps_1": floor_rps[1], "floor_rps_16": floor_rps[16],
        "ratio_1": one["rps"] / floor_rps[1], "ratio_16": sixteen["rps"] / floor_rps[16],
        "served": served, "entries": entries, "audit_gap": served - entries,
        "floor": {"before": floor_before, "after": floor_after},
        **{f"rollups_{k}": v for k, v in rollups.items()},
    }  # fmt: skip


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench-lookup does it)")
    OUT.mkdir(parents=True, exist_ok=True)
    results = {backend: bench(backend) for backend in BACKENDS}
    print()
    print(f"get by identifier, {PERSONS:,} persons, grant with 2 conditions, audit on, "
          f"{SECONDS} s per run; floor = bench/floor_server.py before and after DAGR")  # fmt: skip
    header = ("backend", "server", "clients", "req/s", "p50 ms", "p99 ms", "non-2xx", "×floor")
    line = "{:<9} {:<13} {:>7} {:>9} {:>8} {:>8} {:>8} {:>7}"
    print(line.format(*header))
    for backend, r in results.items():
        if r is None:
            print(f"{backend:<9} skipped")
            continue
        for clients in (1, 16):
            rows = [
                ("floor before", r["floor"]["before"][clients], ""),
                ("DAGR", {k.removesuffix(f"_{clients}"): v for k, v in r.items()
                          if k.endswith(f"_{clients}")} | {"errors": r["errors"]},
                 f"{r[f'ratio_{clients}']:.2f}"),
                ("floor after", r["floor"]["after"][clients], ""),
            ]  # fmt: skip
            for name, m, ratio in rows:
                print(line.format(backend, name, clients, f"{m['rps']:.0f}", f"{m['p50']:.2f}",
                                  f"{m['p99']:.2f}", int(m["errors"]), ratio))  # fmt: skip
        print(f"{backend:<9} batch lookup (1,000 ids/call): {r['batch']:.0f} records/s; "
              f"audit: {r['served']} data requests answered, {r['entries']} entries, "
              f"gap {r['audit_gap']}")  # fmt: skip
    for backend, r in results.items():
        if r and "rollups_on_rps" in r:
            print(
                f"RESULT lookup_rollups backend={backend} clients=16 "
                f"off_rps={r['rollups_off1_rps']:.0f} on_rps={r['rollups_on_rps']:.0f} "
                f"off_again_rps={r['rollups_off2_rps']:.0f} "
                f"p99_ms off={r['rollups_off1_p99']:.1f} on={r['rollups_on_p99']:.1f} "
                f"off_again={r['rollups_off2_p99']:.1f}"
            )
    sqlite = results.get("sqlite") or {}
    postgres = results.get("postgres") or {}
    gaps = [r["audit_gap"] for r in results.values() if r]
    print(
        "RESULT lookup "
        f"sqlite_rps={sqlite.get('rps_16', 0):.0f} sqlite_p99_ms={sqlite.get('p99_16', 0):.2f} "
        f"postgres_rps={postgres.get('rps_16', 0):.0f} "
        f"postgres_p99_ms={postgres.get('p99_16', 0):.2f} "
        f"batch_records_per_s={sqlite.get('batch', 0):.0f} "
        f"sqlite_floor_rps={sqlite.get('floor_rps_16', 0):.0f} "
        f"sqlite_ratio_to_floor={sqlite.get('ratio_16', 0):.2f} "
        f"postgres_floor_rps={postgres.get('floor_rps_16', 0):.0f} "
        f"postgres_ratio_to_floor={postgres.get('ratio_16', 0):.2f} "
        f"postgres_batch_records_per_s={postgres.get('batch', 0):.0f} "
        f"audit_gap={sum(gaps) if gaps else 'n/a'}"
    )


if __name__ == "__main__":
    main()
