"""Time demo data generation and loading on a fresh temporary SQLite database.

    BENCH_N=100000 .venv/bin/python bench/demo_generate.py      (make bench-demo)

BENCH_N is the number of persons (default 100,000); companies and addresses follow the
``dagr demo`` defaults (N/10 and N/2). Set DATABASE_URL to measure PostgreSQL instead (the
database is used as it is: point it at a scratch database). The temporary directory is removed
at the end unless BENCH_KEEP=1.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    n = int(os.environ.get("BENCH_N", "100000"))
    tmp = tempfile.mkdtemp(prefix="dagr-bench-")
    os.environ["DAGR_VAR_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dagr.demo import generators
    from dagr.demo.services import DemoSizes, demo_create

    call_command("migrate", verbosity=0)
    sizes = DemoSizes(persons=n)
    assert sizes.addresses is not None and sizes.companies is not None

    rows: list[tuple[str, int, float]] = []
    started = time.perf_counter()
    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(random.Random(1), sizes.addresses)
    )
    count = sum(1 for _ in addresses)
    rows.append(("generate addresses", count, time.perf_counter() - started))
    started = time.perf_counter()
    adults, persons = generators.adult_sample(
        random.Random(2),
        generators.generate_persons(random.Random(3), n, buildings),
        sizes.companies * 3,
    )
    count = sum(1 for _ in persons)
    rows.append(("generate persons", count, time.perf_counter() - started))
    started = time.perf_counter()
    count = sum(
        1
        for _ in generators.generate_companies(random.Random(4), sizes.companies, adults, buildings)
    )
    rows.append(("generate companies", count, time.perf_counter() - started))

    started = time.perf_counter()
    report = demo_create(sizes=sizes)
    total = time.perf_counter() - started
    for code, _live, created, updated, unchanged, seconds, _loaded in report.datasets:
        rows.append((f"generate + load {code}", created + updated + unchanged, seconds))
    rows.append(("dagr demo in all", sum(r[1] for r in rows[-3:]), total))
    started = time.perf_counter()
    demo_create(sizes=sizes)
    rows.append(("dagr demo again (no-op)", 0, time.perf_counter() - started))

    print(f"\nDAGR demo benchmark — {n:,} persons on {connection.vendor} ({tmp})\n")
    print(f"{'step':<46} {'records':>10} {'seconds':>9} {'records/s':>11}")
    print("-" * 79)
    for step, count, seconds in rows:
        rate = f"{count / seconds:,.0f}" if count and seconds else "—"
        print(f"{step:<46} {count:>10,} {seconds:>9.1f} {rate:>11}")
    connection.close()
    if not os.environ.get("BENCH_KEEP"):  # a million persons take about 1 GB
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
