"""Load throughput: demo persons from a CSV file through the loading service, on SQLite and on
PostgreSQL.

    BENCH_N=1000000 .venv/bin/python bench/load.py          (make bench-load)

1. ``BENCH_N`` demo persons (default 1,000,000; ``dagr.demo`` generators) are written to a
   temporary CSV file in the format file uploads accept (a header row, UTF-8, comma).
2. For each backend a fresh child process loads the file with ``read_rows`` (streaming) and
   ``records_upsert(coerce=True)`` — exactly what a file upload does — into a fresh database:
   a temporary SQLite file, and a scratch PostgreSQL database ``dagr_bench_<pid>`` created and
   dropped on ``BENCH_PG`` (default ``postgres://postgres@127.0.0.1:5432/postgres``; skipped
   with a clear line when it is not reachable). Only the load is timed, not generation or
   migrations. A child process per backend makes the peak RSS (``getrusage``) that of one load.
3. Over HTTP (``bench/load_http.py``; ``BENCH_HTTP=0`` leaves it out): the same persons as an
   NDJSON file, streamed chunked to the provider API of the real server (``dagr serve``) on a
   fresh SQLite file and a fresh scratch PostgreSQL database.
4. Tables, then one line
   ``RESULT load sqlite_rows_per_s=<n> postgres_rows_per_s=<n> peak_rss_mb=<n>
   sqlite_http_rows_per_s=<n> postgres_http_rows_per_s=<n>``
   (``peak_rss_mb`` is the larger peak of the two service loads; a skipped or failed run
   reports 0).

``BENCH_KEEP=1`` keeps the temporary directory.
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
ADDRESSES = 20_000  # building codes the persons live in (a fixed, small list)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate_csv(path: Path, n: int) -> float:
    from dagr.demo import generators
    from dagr.demo.schemas import PERSONS

    started = time.perf_counter()
    columns = [f["name"] for f in PERSONS["schema"]["fields"]]
    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(random.Random(1), ADDRESSES)
    )
    for _ in addresses:
        pass
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for person in generators.generate_persons(random.Random(3), n, buildings):
            writer.writerow([person.get(c, "") for c in columns])
    return time.perf_counter() - started


# --- the child: one backend ----------------------------------------------------------------------


def worker(csv_path: str) -> None:
    """Runs in a child process whose environment selects the database; prints one JSON line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dagr.accounts.models import Institution
    from dagr.accounts.services import institution_create
    from dagr.catalog.models import Dataset
    from dagr.catalog.services import dataset_create
    from dagr.core.actors import SYSTEM
    from dagr.demo.schemas import PERSONS
    from dagr.records.models import Load
    from dagr.records.services import records_upsert
    from dagr.uploads.parsing import read_rows

    call_command("migrate", verbosity=0)
    provider = institution_create(
        actor=SYSTEM,
        name="Bench provider",
        registration_number="40003000002",
        kind=Institution.Kind.PROVIDER,
    )
    dataset = dataset_create(
        actor=SYSTEM,
        provider=provider,
        code="bench-persons",
        title_lv="Personas (mērījums)",
        title_en="Persons (benchmark)",
        schema=PERSONS["schema"],
        status=Dataset.Status.PRODUCTION,
    )
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    with open(csv_path, "rb") as stream:
        rows = (record for _number, record in read_rows(stream, filename="persons.csv"))
        load = records_upsert(
            actor=SYSTEM,
            dataset=dataset,
            records=rows,
            source=Load.Source.UPLOAD,
            coerce=True,
        )
    seconds = time.perf_counter() - started
    result = {
        "backend": connection.vendor,
        "rows": load.received,
        "created": load.created,
        "seconds": seconds,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
    }
    connection.close()
    print("BENCH " + json.dumps(result), flush=True)


def run_child(label: str, csv_path: Path, env: dict[str, str]) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", str(csv_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    print(f"{label}: the load failed (exit {proc.returncode})", file=sys.stderr)
    print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
    return None


def pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def main() -> None:
    n = int(os.environ.get("BENCH_N", "1000000"))
    pg_url = os.environ.get("BENCH_PG", DEFAULT_PG)
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-load-"))
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    results: list[dict] = []
    notes: list[str] = []
    http_results: list[dict] = []
    http_notes: list[str] = []
    over_http = os.environ.get("BENCH_HTTP", "1") != "0"
    try:
        os.environ["DAGR_VAR_DIR"] = str(tmp / "gen")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        csv_path = tmp / "persons.csv"
        gen_s = generate_csv(csv_path, n)
        size_mb = csv_path.stat().st_size / 1024 / 1024
        print(f"generated {n:,} persons into {csv_path} ({size_mb:,.0f} MB) in {gen_s:.1f} s")

        sqlite_env = {**base_env, "DAGR_VAR_DIR": str(tmp / "sqlite")}
        found = run_child("sqlite", csv_path, sqlite_env)
        if found:
            results.append(found)

        db_name = f"dagr_bench_{os.getpid()}"
        admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
        try:
            pg_admin(admin_url, f'CREATE DATABASE "{db_name}"')
        except Exception as exc:  # not reachable, or no right to create a database
            notes.append(
                f"SKIPPED postgresql: cannot create a scratch database at {admin_url} "
                f"({exc.__class__.__name__}: {str(exc).strip()[:120]})"
            )
        else:
            try:
                pg_env = {
                    **base_env,
                    "DAGR_VAR_DIR": str(tmp / "pg"),
                    "DATABASE_URL": pg_url.rsplit("/", 1)[0] + "/" + db_name,
                }
                found = run_child("postgresql", csv_path, pg_env)
                if found:
                    results.append(found)
            finally:
                pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')

        if over_http:
            import load_http

            ndjson_path = tmp / "persons.ndjson"
            gen_s = load_http.generate_ndjson(ndjson_path, n)
            print(f"generated {n:,} persons into {ndjson_path} in {gen_s:.1f} s")
            http_results, http_notes = load_http.run_all(n, ndjson_path, tmp, pg_url)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nDAGR load benchmark — {n:,} demo persons from CSV (read_rows + records_upsert)\n")
    print(
        f"{'backend':<12} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'peak RSS MB':>12} "
        f"{'(before load)':>14}"
    )
    print("-" * 71)
    for r in results:
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        print(
            f"{r['backend']:<12} {r['rows']:>10,} {r['seconds']:>9.1f} {rate:>9,.0f} "
            f"{r['peak_rss_mb']:>12.0f} {r['rss_before_mb']:>14.0f}"
        )
    for note in notes:
        print(note)
    by = {r["backend"]: r for r in results}

    def rate_of(name: str) -> int:
        r = by.get(name)
        return round(r["rows"] / r["seconds"]) if r and r["seconds"] else 0

    peak = max((r["peak_rss_mb"] for r in results), default=0)
    http_figures = ""
    if over_http:
        import load_http

        load_http.print_table(n, http_results, http_notes)
        http_figures = (
            f" sqlite_http_rows_per_s={load_http.rate(http_results, 'sqlite')}"
            f" postgres_http_rows_per_s={load_http.rate(http_results, 'postgresql')}"
        )
    print(
        f"RESULT load sqlite_rows_per_s={rate_of('sqlite')} "
        f"postgres_rows_per_s={rate_of('postgresql')} peak_rss_mb={round(peak)}{http_figures}"
    )
    if not results:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
