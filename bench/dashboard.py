"""`make bench-dashboard`: the statistics pages and API over a large access audit.

    BENCH_DASH_N=10000000 .venv/bin/python bench/dashboard.py        (make bench-dashboard)

1. A scratch SQLite database (in a temporary directory): migrate, the demo (three datasets and
   the demo users), 50 recipient institutions with a grant each, then ``BENCH_DASH_N`` access
   entries (default 10,000,000) spread evenly over the last 13 months — 50 recipients, the three
   datasets, get/lookup/search/feed, ~94 % served — written through the audit's bulk path
   (``access_entries_write_bulk``: keyed digests, one subject each). Timed: the fill, and
   building the rollups from scratch (``rollups_advance``).
2. ``dagr serve`` (granian, 2 web processes, and the worker, which folds new entries every
   ``DAGR_STATS_INTERVAL_S`` = 30 s). Meanwhile a child process keeps writing live entries
   through the ordinary writer (``BENCH_DASH_LIVE_RATE`` per second, default 20) and
   ``dagr_stats_rollup_lag_seconds`` is read from ``/metrics`` every 2 s: its maximum is the
   rollup lag.
3. Every page (requests for each period, datasets, recipients) as administrator, provider and
   recipient (portal sessions), and the stats API for each period, ``BENCH_DASH_REPEAT`` times
   each (default 15) after one warm-up request: p50/p95 per page, a table, then
   ``RESULT dashboard p95_ms=<worst page p95> rollup_lag_s=<max lag> n=<N> fill_entries_per_s=…
   rollup_entries_per_s=…``.

The fill runs in ``BENCH_DASH_FILL_PROCS`` processes (default 4; each its own audit segment, as
several web processes write), each writing one stretch of the 13 months.

``BENCH_KEEP=1`` keeps the temporary directory (its path is printed). ``BENCH_DASH_DIR=<dir>``
uses that directory instead and keeps it; when it already holds a filled audit (``fill.json``)
the fill is skipped, so the pages can be measured again later on a quieter machine.
``BENCH_DASH_DB=postgres`` measures PostgreSQL instead of SQLite: a scratch database
``dagr_bench_dash`` on ``BENCH_PG`` (default ``postgres://postgres@127.0.0.1:5432``), dropped
and created anew.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
N = int(os.environ.get("BENCH_DASH_N", "10000000"))
REPEAT = int(os.environ.get("BENCH_DASH_REPEAT", "15"))
LIVE_RATE = float(os.environ.get("BENCH_DASH_LIVE_RATE", "20"))
BACKEND = os.environ.get("BENCH_DASH_DB", "sqlite")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PG_DB = "dagr_bench_dash"
RECIPIENTS = 50
FILL_PROCS = int(os.environ.get("BENCH_DASH_FILL_PROCS", "4"))

FILL = textwrap.dedent(
    """
    import json, random, sys, time
    from datetime import datetime, timedelta
    import django
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from dagr.accounts.middleware import SESSION_VERIFIED
    from dagr.accounts.models import Institution, User
    from dagr.audit.access import access_entries_write_bulk
    from dagr.catalog.models import Dataset
    from dagr.core.identifiers import make_company_code
    from dagr.dashboard.services import rollups_advance
    from dagr.grants.models import Grant

    mode = sys.argv[1]
    datasets = list(Dataset.objects.order_by("code"))

    def recipients():
        found = []
        for i in range(%(recipients)d):
            code = None
            serial = 7000 + i
            while code is None:
                code = make_company_code(serial, prefix="8000")
                serial += 1000
            inst, _ = Institution.objects.get_or_create(
                registration_number=code,
                defaults={"name": f"Bench recipient {i:02d}", "kind": "recipient"},
            )
            grant, _ = Grant.objects.get_or_create(
                recipient=inst, dataset=datasets[i %% len(datasets)],
                defaults={"legal_basis": "Bench", "purpose": "Bench", "status": "approved",
                          "permission_number": f"BENCH-{i:02d}", "quota": 100000},
            )
            found.append((inst.pk, grant))
        return found

    if mode == "setup":  # the recipients and their grants, once, before the parts run
        recipients()
        print(json.dumps({"now": (timezone.now() - timedelta(minutes=2)).isoformat()}))
    elif mode == "part":  # entries lo..hi of n, one process (its own audit segment) per part
        n, lo, hi = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        now = datetime.fromisoformat(sys.argv[5])
        rng = random.Random(5 + lo)
        found = recipients()
        start = now - timedelta(days=396)
        span = (now - start).total_seconds()
        operations = ["record.get"] * 5 + ["record.lookup"] * 2
        operations += ["record.search", "record.changes"]

        def entries():
            for i in range(lo, hi):
                inst, grant = found[rng.randrange(len(found))]
                ds = datasets[rng.randrange(len(datasets))]
                roll = rng.random()
                outcome, status = (
                    ("ok", 200) if roll < 0.94 else ("not_found", 404) if roll < 0.98
                    else ("denied", 403) if roll < 0.99 else ("error", 500)
                )
                yield {
                    "at": start + timedelta(seconds=span * i / n),
                    "operation": rng.choice(operations), "outcome": outcome,
                    "status_code": status, "dataset_id": ds.pk, "dataset_code": ds.code,
                    "institution_id": inst, "grant_id": grant.pk,
                    "permission_number": grant.permission_number,
                    "identifiers": [f"32{rng.randrange(10**9):09d}"],
                    "records_returned": 1 if outcome == "ok" else 0,
                    "duration_ms": rng.lognormvariate(0.3, 0.7),
                }

        # SQLite: small batches, so that the other parts never wait on the one writer lock for
        # longer than its timeout (20,000-entry batches timed out on a loaded machine)
        batch = 20000 if connection.vendor == "postgresql" else 2000
        print(json.dumps({"written": access_entries_write_bulk(entries(), batch=batch)}))
    elif mode == "catchup":  # a reused audit: fold what the last run's live writer left
        print(json.dumps({"folded": rollups_advance(batch=100000)}))
    else:  # finish: the rollups from scratch, and one portal session per role
        t0 = time.perf_counter()
        folded = rollups_advance(batch=100000)
        rollup_s = time.perf_counter() - t0
        sessions = {}
        for role in ("admin", "provider", "recipient"):
            client = Client()
            client.force_login(User.objects.get(email=f"{role}@dagr.example"))
            session = client.session  # as if the login had passed the two-factor step
            session[SESSION_VERIFIED] = True
            session.save()
            sessions[role] = client.cookies["sessionid"].value
        print(json.dumps({"folded": folded, "rollup_s": rollup_s, "sessions": sessions}))
    """
)

LIVE = textwrap.dedent(
    """
    import sys, time, random
    import django
    django.setup()
    from dagr.audit.access import access_entry_write
    from dagr.catalog.models import Dataset
    rate = float(sys.argv[1])
    ds = Dataset.objects.order_by("code").first()
    rng = random.Random(9)
    while True:
        started = time.perf_counter()
        access_entry_write(
            operation="record.get", outcome="ok", dataset_id=ds.pk, dataset_code=ds.code,
            institution_id=1, identifiers=[f"32{rng.randrange(10**9):09d}"],
            records_returned=1, duration_ms=rng.uniform(0.5, 3),
        )
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    """
)

PERIODS = ["1h", "24h", "7d", "30d", "13m"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, session: str | None = None) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return response.status, body, elapsed


def wait_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit("the server stopped")
        try:
            if get(port, "/healthz")[0] in (200, 503):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def measure(port: int, path: str, session: str | None) -> tuple[float, float, int]:
    for _ in range(3):  # warm-up: each web process's first request pays for its imports
        status, _, _ = get(port, path, session)
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status}")
    times = [get(port, path, session)[2] for _ in range(REPEAT)]
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, status


def pg_recreate() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def main() -> None:
    if BACKEND not in ("sqlite", "postgres"):
        raise SystemExit("BENCH_DASH_DB must be sqlite or postgres")
    given = os.environ.get("BENCH_DASH_DIR")
    tmp = Path(given) if given else Path(tempfile.mkdtemp(prefix="dagr-bench-dash-"))
    tmp.mkdir(parents=True, exist_ok=True)
    filled = tmp / "fill.json"
    reuse = filled.exists()
    if BACKEND == "postgres":
        if not reuse:
            pg_recreate()
        database_url = f"{PG}/{PG_DB}"
    else:
        database_url = f"sqlite:///{tmp / 'dash.sqlite3'}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        DAGR_VAR_DIR=str(tmp / "var"),
        DATABASE_URL=database_url,
        DAGR_STATS_INTERVAL_S="30",
    )
    env.pop("DAGR_DEBUG", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = live = None
    try:
        script = FILL % {"recipients": RECIPIENTS}

        def fill(*args: str) -> dict:
            out = subprocess.run(
                [PYTHON, "-c", script, *args], env=env, cwd=ROOT, check=True,
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            return json.loads(out.strip().splitlines()[-1])

        if reuse:
            print(f"reusing the filled audit in {tmp}", flush=True)
            info = json.loads(filled.read_text())
            # the scratch database may predate the current code; then the rollups are brought
            # up to date, as after a fresh fill, so the lag measured is that of the live load
            subprocess.run(
                [PYTHON, "-m", "dagr.cli", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True
            )
            print(f"caught up: {fill('catchup')['folded']:,} entries folded", flush=True)
        else:
            subprocess.run(
                [PYTHON, "-m", "dagr.cli", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True
            )
            subprocess.run([PYTHON, "-m", "dagr.cli", "demo", "--persons", "2000"], env=env,
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            print(f"filling the audit with {N:,} entries ({FILL_PROCS} processes) …", flush=True)
            now = fill("setup")["now"]
            t0 = time.perf_counter()
            bounds = [N * k // FILL_PROCS for k in range(FILL_PROCS + 1)]
            parts = [
                subprocess.Popen(
                    [PYTHON, "-c", script, "part", str(N), str(lo), str(hi), now], env=env,
                    cwd=ROOT, stdout=subprocess.PIPE, text=True,
                )
                for lo, hi in itertools.pairwise(bounds)
            ]  # fmt: skip
            written = 0
            for proc in parts:
                out, _ = proc.communicate()
                if proc.returncode:
                    raise SystemExit("a fill process failed")
                written += json.loads(out.strip().splitlines()[-1])["written"]
            fill_s = time.perf_counter() - t0
            info = {"written": written, "fill_s": fill_s, **fill("finish")}
            filled.write_text(json.dumps(info))
        fill_rate = info["written"] / info["fill_s"]
        rollup_rate = info["folded"] / info["rollup_s"] if info["rollup_s"] else 0.0
        print(f"fill: {info['written']:,} entries in {info['fill_s']:.0f} s ({fill_rate:,.0f}/s); "
              f"rollups from scratch: {info['folded']:,} in {info['rollup_s']:.0f} s "
              f"({rollup_rate:,.0f}/s)", flush=True)  # fmt: skip

        port = free_port()
        server = subprocess.Popen(
            [PYTHON, "-m", "dagr.cli", "serve", "--port", str(port), "--web-workers", "2"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_up(port, server)
        live = subprocess.Popen([PYTHON, "-c", LIVE, str(LIVE_RATE)], env=env, cwd=ROOT,
                                start_new_session=True)  # fmt: skip
        lags: list[float] = []
        stop = threading.Event()

        def sample_lag() -> None:
            while not stop.wait(2):
                try:
                    text = get(port, "/metrics")[1].decode()
                except OSError:
                    continue
                found = re.search(r"^dagr_stats_rollup_lag_seconds (\S+)$", text, re.M)
                if found:
                    lags.append(float(found.group(1)))

        sampler = threading.Thread(target=sample_lag, daemon=True)
        sampler.start()
        s = info["sessions"]
        pages: list[tuple[str, str, str | None]] = []
        for role in ("admin", "provider", "recipient"):
            for period in PERIODS:
                pages.append(
                    (f"requests {period} ({role})", f"/statistics/?period={period}", s[role])
                )
            pages.append((f"datasets ({role})", "/statistics/datasets/", s[role]))
            pages.append((f"recipients ({role})", "/statistics/recipients/", s[role]))
        for period in PERIODS:
            pages.append((f"API {period} (admin)", f"/api/v1/audit/stats/requests?period={period}",
                          s["admin"]))  # fmt: skip
        one = "/statistics/?period=13m&dataset=demo-population-register"
        pages.append(("requests 13m, one dataset (admin)", one, s["admin"]))
        rows = []
        for label, path, session in pages:
            p50, p95, _ = measure(port, path, session)
            rows.append((label, p50, p95))
            print(f"  {label:<40} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms", flush=True)
        # keep the live load on for at least two worker intervals, so the lag is seen
        deadline = time.monotonic() + 70
        while time.monotonic() < deadline and len(lags) < 35:
            time.sleep(1)
        stop.set()
        sampler.join(timeout=5)
    finally:
        for proc in (live, server):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if given or os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    worst = max(p95 for _, _, p95 in rows)
    lag = max(lags) if lags else float("nan")
    n = info["written"]
    print(
        f"\nDAGR dashboard — {n:,} access entries over 13 months, {RECIPIENTS} recipients, "
        f"3 datasets, {'PostgreSQL' if BACKEND == 'postgres' else 'SQLite'}, "
        f"dagr serve (2 web processes + worker), {REPEAT} requests each\n"
    )
    print("| page | p50 ms | p95 ms |\n|---|---:|---:|")
    for label, p50, p95 in rows:
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")
    print(f"\nrollup lag under a live load of {LIVE_RATE:g} entries/s: max {lag:.1f} s "
          f"({len(lags)} samples); fill {fill_rate:,.0f} entries/s; rollups from scratch "
          f"{rollup_rate:,.0f} entries/s")  # fmt: skip
    print(
        f"RESULT dashboard backend={BACKEND} p95_ms={worst:.1f} rollup_lag_s={lag:.1f} n={n} "
        f"fill_entries_per_s={fill_rate:.0f} rollup_entries_per_s={rollup_rate:.0f}"
    )


if __name__ == "__main__":
    main()
