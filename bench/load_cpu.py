"""In-process A/B of the loading path, CPU time per record (``time.process_time``), interleaved:

    BENCH_N=100000 .venv/bin/python bench/load_cpu.py                   (SQLite, temporary file)
    DATABASE_URL=postgres://… BENCH_N=100000 .venv/bin/python bench/load_cpu.py

1. The record validator: ``compile_validator(fast=False)`` (the closures) against the default
   (the generated fast path in front), over ``BENCH_N`` demo persons parsed from CSV
   (``read_rows``), ``coerce=True`` as a file upload validates.
2. Whole loads of the same CSV through ``records_upsert(coerce=True)`` into a fresh dataset,
   with every batch written in the calling thread and behind validation
   (``writer.BACKGROUND`` set for the database at hand): CPU of this process (both threads),
   wall time and — on PostgreSQL — the CPU of the server process of the load's connection
   (``/proc``, same machine).

``BENCH_REPEAT`` (default 3) rounds, medians printed; the load average with each figure. The
database is migrated into a temporary SQLite file unless ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

N = int(os.environ.get("BENCH_N", "100000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def load_average() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-load-cpu-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DAGR_VAR_DIR"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import load as bench_load
    from django.core.management import call_command
    from django.db import connection

    from dagr.accounts.models import Institution
    from dagr.accounts.services import institution_create
    from dagr.catalog.models import Dataset
    from dagr.catalog.schema import compile_validator, parse_schema
    from dagr.catalog.services import dataset_create
    from dagr.core.actors import SYSTEM
    from dagr.demo.schemas import PERSONS
    from dagr.records import writer
    from dagr.records.models import Load
    from dagr.records.services import records_upsert
    from dagr.uploads.parsing import read_rows

    csv_path = tmp / "persons.csv"
    bench_load.generate_csv(csv_path, N)
    with csv_path.open("rb") as stream:
        rows = [record for _n, record in read_rows(stream, filename="persons.csv")]

    schema = parse_schema(PERSONS["schema"])
    times: dict[str, list[float]] = {"closures": [], "fast path": []}
    for _ in range(REPEAT):
        for name, fast in (("closures", False), ("fast path", True)):
            validate = compile_validator(schema, coerce=True, fast=fast)
            started = time.process_time()
            for record in rows:
                validate(record)
            times[name].append(time.process_time() - started)
    print(f"validator, {N:,} demo persons (coerce), load average {load_average()}:")
    for name, values in times.items():
        print(f"  {name:<10} {statistics.median(values) / N * 1e6:6.2f} µs CPU per record")

    call_command("migrate", verbosity=0)
    provider = (
        Institution.objects.filter(registration_number="40003000002").first()
        or institution_create(  # a database kept from an earlier run has it
            actor=SYSTEM,
            name=f"Bench {uuid.uuid4().hex[:6]}",
            registration_number="40003000002",
            kind=Institution.Kind.PROVIDER,
        )
    )

    def server_cpu() -> float:
        if connection.vendor != "postgresql":
            return 0.0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the server runs elsewhere
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    figures: dict[str, list[tuple[float, float, float]]] = {"inline": [], "background": []}
    for _ in range(REPEAT):
        for name, background in (("inline", False), ("background", True)):
            writer.BACKGROUND = {connection.vendor: background}
            dataset = dataset_create(
                actor=SYSTEM,
                provider=provider,
                code=f"bench-{uuid.uuid4().hex[:8]}",
                title_lv="Personas",
                title_en="Persons",
                schema=PERSONS["schema"],
                status=Dataset.Status.PRODUCTION,
            )
            server = server_cpu()
            cpu, wall = time.process_time(), time.perf_counter()
            with csv_path.open("rb") as stream:
                load = records_upsert(
                    actor=SYSTEM,
                    dataset=dataset,
                    records=(r for _n, r in read_rows(stream, filename="persons.csv")),
                    source=Load.Source.UPLOAD,
                    coerce=True,
                )
            assert load.created == N
            figures[name].append(
                (
                    time.process_time() - cpu,
                    time.perf_counter() - wall,
                    server_cpu() - server,
                )
            )
    print(f"\nwhole loads ({connection.vendor}), load average {load_average()}:")
    for name, values in figures.items():
        cpu = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        server = statistics.median(v[2] for v in values)
        print(
            f"  {name:<10} {cpu / N * 1e6:6.1f} µs CPU per record (this process), "
            f"{server / N * 1e6:5.1f} µs server CPU, wall {N / wall:,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
