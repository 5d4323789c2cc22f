"""SQLite tail latency of GET-by-identifier, variant against variant, interleaved (issue #19's
"SQLite p99 at 16 clients ≤ 20 ms"). Not ``make bench-lookup``: only DAGR (no floor server), the
same data, grant, wrk script and granian settings as ``bench/lookup.py``, and the worker's jobs
as ``dagr worker`` runs them (the subject index job, and the WAL checkpoint job where the
variant has one) in a side process during each window. Each window: a fresh server of the
variant, the index caught up and the WAL checkpointed, wrk with 1 client then 16 clients for
BENCH_SECONDS each. Variants alternate, the order reversed every round (BENCH_ROUNDS).

    BENCH_PERSONS=50000 BENCH_SECONDS=10 BENCH_ROUNDS=3 BENCH_TAIL_VARIANTS=base,new \\
        .venv/bin/python bench/sqlite_tail.py

With BENCH_TAIL_PROBE=1 the server is ``bench/tail_probe.py`` (DAGR with timing probes) and each
window's slow requests are attributed: lock wait, a checkpoint inside the request's own COMMIT,
GC, the job's lock holds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import lookup

ROOT, OUT, PYTHON = lookup.ROOT, lookup.OUT, lookup.PYTHON
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PROBE = os.environ.get("BENCH_TAIL_PROBE") == "1"
SLOW_MS = float(os.environ.get("BENCH_TAIL_SLOW_MS", "5"))

# name → (web process environment, job process environment)
OLD_INDEX = {"TAIL_HOLD_S": "0.02", "TAIL_FIRST_SUBJECTS": "2000"}  # the index job's pacing on main
VARIANTS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # main as it was: SQLite's default auto-checkpoint (1,000 pages) in every process, no
    # checkpoint job, the index job's 20 ms holds
    "base": (
        {"TAIL_AUTOCHECKPOINT": "1000"},
        {"TAIL_AUTOCHECKPOINT": "1000", **OLD_INDEX},
    ),
    # the worker's checkpoint job, the index job as on main
    "ckpt": ({}, {"TAIL_CHECKPOINTER": "1", **OLD_INDEX}),
    # the index job's pacing as on this branch, checkpoints as on main
    "hold": ({"TAIL_AUTOCHECKPOINT": "1000"}, {"TAIL_AUTOCHECKPOINT": "1000"}),
    # diagnosis: no subject index job during the windows (checkpoints as on main)
    "noindex": (
        {"TAIL_AUTOCHECKPOINT": "1000"},
        {"TAIL_AUTOCHECKPOINT": "1000", "TAIL_NO_INDEX": "1"},
    ),
    "gcfreeze": ({"TAIL_GC_FREEZE": "1"}, {"TAIL_CHECKPOINTER": "1"}),
    "pause05": ({"TAIL_LOCK_PAUSE_MAX_S": "0.0005"}, {"TAIL_CHECKPOINTER": "1"}),
    "new": ({}, {"TAIL_CHECKPOINTER": "1"}),  # this branch's settings, as dagr worker runs them
    "reset4k": ({}, {"TAIL_CHECKPOINTER": "1", "DAGR_SQLITE_WAL_RESET_PAGES": "4000"}),
}

JOB_LOOP = textwrap.dedent(
    """
    import os, signal, threading
    import django
    django.setup()
    from bench import tail_probe
    tail_probe.setup()
    from django.conf import settings
    from dagr.audit import subjects
    from dagr.core.management.commands.worker import _periodic
    if os.environ.get("TAIL_HOLD_S"):
        subjects.SQLITE_HOLD_S = float(os.environ["TAIL_HOLD_S"])
    if os.environ.get("TAIL_FIRST_SUBJECTS"):
        subjects.SQLITE_FIRST_SUBJECTS = int(os.environ["TAIL_FIRST_SUBJECTS"])
    jobs = {} if os.environ.get("TAIL_NO_INDEX") else {
        "dagr.audit.subjects.subject_index_periodic": settings.AUDIT_SUBJECT_INDEX_INTERVAL_S}
    if os.environ.get("TAIL_CHECKPOINTER"):
        jobs.update({path: interval for path, interval in settings.DAGR_PERIODIC_JOBS.items()
                     if "checkpoint" in path})
    stop = threading.Event()
    threads = [threading.Thread(target=_periodic, args=(p, i, stop), name=p.rsplit(".", 1)[1])
               for p, i in jobs.items()]
    for t in threads:
        t.start()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    print("started", sorted(jobs), flush=True)
    stop.wait()
    for t in threads:
        t.join()
    """
)


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def checkpoint_truncate(env: dict[str, str]) -> None:
    """Every window starts from an empty WAL."""
    code = (
        "import django; django.setup(); from django.db import connection; "
        "c = connection.cursor(); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); print(c.fetchone())"
    )
    lookup.run([PYTHON, "-c", code], env, stdout=subprocess.DEVNULL)


def window(name: str, env: dict[str, str], info: dict, logs: Path) -> dict[str, float]:
    web_env, job_env = VARIANTS[name]
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    probe = {"TAIL_LOG_DIR": str(logs)} if PROBE else {}
    app = "bench.tail_probe:application"  # without TAIL_LOG_DIR: DAGR's application alone
    server_env = {**env, **web_env, **probe, "PYTHONPATH": str(ROOT), "TAIL_ROLE": "web",
                  "PROMETHEUS_MULTIPROC_DIR": str(logs)}  # fmt: skip
    checkpoint_truncate(env)
    lookup.run(
        [PYTHON, "-m", "dagr.cli", "audit", "index-subjects"], env, stdout=subprocess.DEVNULL
    )
    server = lookup.granian(app, lookup.PORT_BASE, server_env)
    job = None
    try:
        lookup.wait_for(lookup.PORT_BASE)
        bearer = lookup.token(lookup.PORT_BASE, info["client_id"], info["secret"])
        script = OUT / "tail-sqlite.lua"
        script.write_text(lookup.WRK_SCRIPT % {"keys": OUT / "keys-sqlite.txt",
                          "dataset": lookup.DATASET, "token": bearer,
                          "permission": lookup.PERMISSION})  # fmt: skip
        # the worker's jobs run from the start, as in production (the checkpoints during the
        # warm-up too); the index is caught up after the warm-up, so that the windows' index
        # job has only the windows' entries to index
        job = subprocess.Popen(
            [PYTHON, "-c", JOB_LOOP], cwd=ROOT, stdout=subprocess.PIPE, text=True,
            env={**env, **job_env, **probe, "PYTHONPATH": str(ROOT), "TAIL_ROLE": "job"},
        )  # fmt: skip
        assert job.stdout is not None
        if not job.stdout.readline().startswith("started"):
            raise SystemExit("the job process did not start")
        seconds = lookup.SECONDS
        lookup.SECONDS = 3
        lookup.wrk(lookup.PORT_BASE, 16, script)  # warm-up: every process's first requests
        lookup.SECONDS = seconds
        lookup.run([PYTHON, "-m", "dagr.cli", "audit", "index-subjects"], env,
                   stdout=subprocess.DEVNULL)  # fmt: skip
        load = loadavg()
        marks = [time.time()]
        one = lookup.wrk(lookup.PORT_BASE, 1, script)
        marks.append(time.time())
        sixteen = lookup.wrk(lookup.PORT_BASE, 16, script)
        marks.append(time.time())
        load = max(load, loadavg())
        wal = Path(env["DATABASE_URL"].removeprefix("sqlite:///") + "-wal")
        wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
        time.sleep(1.2)  # the probes' last flush
    finally:
        if job is not None:
            job.send_signal(signal.SIGTERM)
            job.wait(timeout=60)
        lookup.stop(server)
    return {
        "p50_1": one["p50"], "p99_1": one["p99"], "rps_1": one["rps"],
        "p50_16": sixteen["p50"], "p99_16": sixteen["p99"], "rps_16": sixteen["rps"],
        "errors": one["errors"] + sixteen["errors"], "load": load, "wal_mb": wal_mb,
        "marks": marks,
    }  # fmt: skip


def attribute(logs: Path, since: float, until: float) -> str:
    """Slow requests (≥ SLOW_MS in the application) between two times and what they overlapped."""
    reqs: list[list[float]] = []
    holds: list[list[float]] = []
    ckpts: list[list[float]] = []
    for path in logs.glob("*.tsv"):
        for line in path.read_text().splitlines():
            kind, *cols = line.split("\t")
            if kind == "req":
                row = [float(c) for c in cols]
                if since <= row[0] < until:
                    reqs.append(row)
            elif kind == "hold":
                row = [float(c) for c in cols[:3]] + [float("checkpoint" in cols[3])]
                if since - 1 <= row[0] < until:
                    holds.append(row)
            elif kind == "ckpt":
                row = [float(c) for c in cols]
                if since <= row[0] < until:
                    ckpts.append(row)
    if not reqs:
        return "no probe data"
    slow = [r for r in reqs if r[1] >= SLOW_MS]
    counts = {"wait": 0, "own_ckpt": 0, "gc": 0, "gc2": 0, "job_hold": 0, "other": 0}
    for start, total, wait, _held, ckpt, gc_ms, gen in slow:
        end = start + total / 1e3
        overlaps_job = any(h0 < end and h0 + h1 / 1e3 > start for h0, h1, _w, _c in holds)
        if ckpt:
            counts["own_ckpt"] += 1
        elif gc_ms >= total / 3:
            counts["gc2" if gen == 2 else "gc"] += 1
        elif wait >= total / 3:
            counts["wait" if not overlaps_job else "job_hold"] += 1
        else:
            counts["other"] += 1
    own_ckpts = sum(1 for r in reqs if r[4])
    holds_ms = sorted(h[1] for h in holds if not h[3])
    locked_ms = sorted(h[1] for h in holds if h[3])
    gcs2 = [r[5] for r in reqs if r[6] == 2]
    return (
        f"requests={len(reqs)} slow(>={SLOW_MS:g}ms)={len(slow)} "
        + " ".join(f"{k}={v}" for k, v in counts.items())
        + f" | requests with a checkpoint in their COMMIT={own_ckpts}"
        + f" | index job holds={len(holds_ms)} max={max(holds_ms, default=0):.1f}ms"
        + (
            f" | checkpoint holds={len(locked_ms)} median={statistics.median(locked_ms):.1f}ms "
            f"max={locked_ms[-1]:.1f}ms"
            if locked_ms
            else ""
        )
        + f" | gen2 collections={len(gcs2)} max={max(gcs2, default=0):.1f}ms"
        + (
            f" | checkpoint job runs={len(ckpts)} locked={sum(int(c[4]) for c in ckpts)} "
            f"max wal pages={max(int(c[2]) for c in ckpts)}"
            if ckpts
            else ""
        )
    )


def main() -> None:
    names = os.environ.get("BENCH_TAIL_VARIANTS", "base,new").split(",")
    env = lookup.prepare("sqlite")
    assert env is not None
    info = lookup.setup_grant(env)
    (OUT / "keys-sqlite.txt").write_text("\n".join(info["keys"]) + "\n")
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for round_no in range(ROUNDS):
        order = names if round_no % 2 == 0 else names[::-1]
        for name in order:
            logs = OUT / "tail" / f"{name}-{round_no}"
            r = window(name, env, info, logs)
            results[name].append(r)
            marks = r.pop("marks")
            extra = (
                f"\n    1 client: {attribute(logs, marks[0], marks[1])}"
                f"\n    16 clients: {attribute(logs, marks[1], marks[2])}"
                if PROBE
                else ""
            )
            print(
                f"round {round_no} {name:<9} 1 client p50 {r['p50_1']:.2f} p99 {r['p99_1']:.2f} "
                f"({r['rps_1']:.0f}/s) | 16 clients p50 {r['p50_16']:.2f} p99 {r['p99_16']:.2f} "
                f"({r['rps_16']:.0f}/s) | load {r['load']:.1f} | wal {r['wal_mb']:.1f} MB "
                f"| non-2xx {r['errors']}{extra}",
                flush=True,
            )
    print()
    for name, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        low = {k: min(r[k] for r in rs) for k in rs[0]}
        print(
            f"RESULT sqlite_tail variant={name} rounds={len(rs)} "
            f"p50_1={med['p50_1']:.2f} p99_1={med['p99_1']:.2f} (min {low['p99_1']:.2f}) "
            f"p50_16={med['p50_16']:.2f} p99_16={med['p99_16']:.2f} (min {low['p99_16']:.2f}) "
            f"rps_16={med['rps_16']:.0f} load={med['load']:.1f}"
        )
    (OUT / "tail" / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
