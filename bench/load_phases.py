"""What a large load waits for after its last row: the COMMIT (on SQLite with any WAL checkpoint
it runs) and PostgreSQL's ``ANALYZE`` after the load, timed inside one load of ``bench/load.py``'s
child (same CSV, same service call).

    .venv/bin/python bench/load_phases.py <persons.csv>                       (SQLite, DAGR_VAR_DIR)
    DATABASE_URL=postgres://…/<scratch db> .venv/bin/python bench/load_phases.py <persons.csv>

A CSV of N persons: ``bench/load.py``'s ``generate_csv`` (``BENCH_KEEP=1 make bench-load`` keeps
one). Prints ``bench/load.py``'s BENCH line, then ``PHASES {"commit_s": …, "commits": …,
"analyze_s": …}`` (``commit_s`` sums every commit of the process, the migrations' included:
they are milliseconds).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import load  # noqa: E402
from django.db.backends.base.base import BaseDatabaseWrapper  # noqa: E402

from dagr.records import loads  # noqa: E402

spent = {"commit_s": 0.0, "commits": 0, "analyze_s": 0.0}
_commit = BaseDatabaseWrapper._commit
_analyze = loads._refresh_statistics


def timed_commit(self: BaseDatabaseWrapper) -> None:
    started = time.perf_counter()
    _commit(self)
    spent["commit_s"] += time.perf_counter() - started
    spent["commits"] += 1


def timed_analyze() -> None:
    started = time.perf_counter()
    _analyze()
    spent["analyze_s"] += time.perf_counter() - started


BaseDatabaseWrapper._commit = timed_commit  # type: ignore[method-assign]
loads._refresh_statistics = timed_analyze

if __name__ == "__main__":
    load.worker(sys.argv[1])
    print("PHASES " + json.dumps({k: round(v, 3) for k, v in spent.items()}), flush=True)
