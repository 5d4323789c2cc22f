"""The subject index job's batches on SQLite, old pacing (20 ms holds) against new (4 ms), in
one process over a copy of the ``bench-lookup`` SQLite database: BENCH_PACING_N entries of one
subject each (the request's write path) are indexed again and again from the same watermark,
the variants alternating; CPU and wall time per subject, number of batches, their holds.
BENCH_PACING_SLEEP=1 keeps the pauses between batches (the catch-up rate of a backlog);
otherwise they are skipped (the cost of a batch). Not part of the product.

    BENCH_PERSONS=50000 BENCH_PACING_N=30000 BENCH_PACING_SLEEP=1 \\
        .venv/bin/python bench/subject_index_pacing.py
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "out" / f"lookup-{os.environ.get('BENCH_PERSONS', '50000')}.sqlite3"
COPY = ROOT / "bench" / "out" / "subject-index-pacing.sqlite3"
N = int(os.environ.get("BENCH_PACING_N", "10000"))
ROUNDS = int(os.environ.get("BENCH_PACING_ROUNDS", "2"))
SLEEP = os.environ.get("BENCH_PACING_SLEEP") == "1"
VARIANTS = {"old": (0.02, 2000, 200), "new": (0.004, 200, 50)}  # hold, first, smallest batch


def main() -> None:
    with sqlite3.connect(SOURCE) as source:
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{COPY}{suffix}").unlink(missing_ok=True)
    shutil.copy(SOURCE, COPY)
    os.environ.update(DATABASE_URL=f"sqlite:///{COPY}", DJANGO_SETTINGS_MODULE="config.settings",
                      DAGR_VAR_DIR=str(ROOT / "bench" / "out" / "var"))  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from dagr.audit import subjects
    from dagr.audit.access import access_entry_record
    from dagr.audit.models import AccessSubjectIndex

    subjects.subject_index_run()
    start = subjects.indexed_to()
    rng = random.Random(1)
    for _ in range(N):
        subject = f"{rng.randrange(10**11):011d}"
        access_entry_record(operation="record.get", outcome="ok", identifiers=[subject])
    holds: list[float] = []
    next_batch = subjects._sqlite_next

    def recorded(limit: int, size: int, held: float) -> tuple[int, float]:
        holds.append(held)
        return next_batch(limit, size, held)

    subjects._sqlite_next = recorded  # type: ignore[assignment]
    sleep = time.sleep if SLEEP else (lambda seconds: None)
    subjects.time = SimpleNamespace(perf_counter=time.perf_counter, sleep=sleep)  # type: ignore[assignment]
    results: dict[str, list[tuple[float, float, int, float, float]]] = {k: [] for k in VARIANTS}
    for round_no in range(ROUNDS * 2):
        for name in VARIANTS if round_no % 2 == 0 else list(VARIANTS)[::-1]:
            hold, first, smallest = VARIANTS[name]
            subjects.SQLITE_HOLD_S, subjects.SQLITE_FIRST_SUBJECTS = hold, first
            subjects.SQLITE_MIN_SUBJECTS = smallest
            AccessSubjectIndex.objects.update(indexed_to=start)
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_accesssubject WHERE entry_id > %s", [start])
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            holds.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            done = subjects.subject_index_run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            ordered = sorted(holds)
            row = (cpu / done.subjects * 1e6, wall / done.subjects * 1e6, len(holds) + 1,
                   statistics.median(ordered) * 1e3, ordered[-1] * 1e3)  # fmt: skip
            results[name].append(row)
            print(f"{name}: {done.subjects} subjects, CPU {row[0]:.1f} µs and wall {row[1]:.1f} "
                  f"µs per subject, {row[2]} batches, holds median {row[3]:.1f} ms, max "
                  f"{row[4]:.1f} ms, load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    for name, rows in results.items():
        med = [statistics.median(r[i] for r in rows) for i in range(5)]
        print(
            f"RESULT subject_index_pacing variant={name} sleep={int(SLEEP)} "
            f"cpu_us_per_subject={med[0]:.1f} wall_us_per_subject={med[1]:.1f} "
            f"batches={med[2]:.0f} hold_median_ms={med[3]:.1f} hold_max_ms={med[4]:.1f}"
        )


if __name__ == "__main__":
    main()
