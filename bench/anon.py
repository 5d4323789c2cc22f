"""Time the anonymisation engine on the demo registers (issue #13).

    BENCH_ANON_N=100000,1000000 .venv/bin/python bench/anon.py      (make bench-anon)

Several sizes (comma-separated) run one after the other, each in its own process (so that each
peak RSS is that size's alone), and end with a summary table: records/s in wall time and per
CPU second (the release's process plus any child process), peak RSS. For one size N:

1. ``dagr migrate`` + ``dagr demo --persons N`` (N = BENCH_ANON_N, default 1,000,000; companies
   N/10, addresses N/2) on a scratch SQLite database in a temporary directory — in a separate
   process, so that the peak memory measured below is the release's alone;
2. ``build_release`` over the address, population and company registers with the default rules
   and quasi-identifiers (k = 5), reading records straight from the database in id order in
   batches of 5,000 — as their JSON text (``raw_records``: parsed in the worker processes) —
   and writing the NDJSON lines the workers make (``ndjson``) to a temporary file.

Prints a table, the privacy report's figures, and
``RESULT anon records_per_s=… records_per_cpu_s=… peak_rss_mb=… k=…`` (with several sizes: the
largest size's figures, and the peak RSS of every size). BENCH_KEEP=1 keeps the directory;
BENCH_ANON_DIR=<dir> reuses a directory made earlier (skips step 1).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BATCH = 5000
# processes transforming chunks after the pre-pass (BENCH_ANON_WORKERS; 1: in this process)
# the pre-pass reads the identifier fields only (BENCH_ANON_PARTIAL=0: whole records)
PARTIAL = os.environ.get("BENCH_ANON_PARTIAL", "1") != "0"
WORKERS = int(os.environ.get("BENCH_ANON_WORKERS") or os.cpu_count() or 1)


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _workers_hwm_mb() -> float:
    """The largest peak RSS (VmHWM) among this process's living child processes (the worker
    processes of the release; they share the parent's pages copy-on-write, which their RSS
    counts too)."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = handle.read().split()
    except OSError:
        return 0.0
    peak = 0.0
    for child in children:
        try:
            with open(f"/proc/{child}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def several(sizes: list[int]) -> None:
    """Each size in its own process; then the summary table and the RESULT line."""
    results = []
    with tempfile.NamedTemporaryFile("r", suffix=".json") as summary:
        for n in sizes:
            env = {**os.environ, "BENCH_ANON_N": str(n), "BENCH_ANON_SUMMARY": summary.name}
            subprocess.run([sys.executable, __file__], env=env, check=True)
        results = [json.loads(line) for line in Path(summary.name).read_text().splitlines()]
    print(f"\nDAGR anonymisation benchmark — summary (load average {os.getloadavg()[0]:.1f})\n")
    print(
        f"{'persons':>10} {'records':>10} {'wall s':>8} {'records/s':>10} {'CPU s':>8} "
        f"{'rec/CPU-s':>10} {'peak MB':>8} {'worker MB':>9}"
    )
    print("-" * 80)
    for r in results:
        print(
            f"{r['persons']:>10,} {r['records']:>10,} {r['seconds']:>8.1f} "
            f"{r['records_per_s']:>10,.0f} {r['cpu_seconds']:>8.1f} "
            f"{r['records_per_cpu_s']:>10,.0f} {r['peak_rss_mb']:>8,.0f} "
            f"{r['worker_rss_mb']:>9,.0f}"
        )
    last = results[-1]
    peaks = " ".join(
        f"peak_rss_mb_{r['persons']}={r['peak_rss_mb']:.0f} "
        f"worker_peak_rss_mb_{r['persons']}={r['worker_rss_mb']:.0f}"
        for r in results
    )
    print(
        f"\nRESULT anon records_per_s={last['records_per_s']:.0f} "
        f"records_per_cpu_s={last['records_per_cpu_s']:.0f} peak_rss_mb={last['peak_rss_mb']:.0f} "
        f"workers={last['workers']} persons={last['persons']} {peaks} leaks={last['leaks']} "
        f"passed={last['passed']}"
    )


def main() -> None:
    sizes = [int(x) for x in os.environ.get("BENCH_ANON_N", "1000000").split(",") if x]
    if len(sizes) > 1:
        several(sizes)
        return
    n = sizes[0]
    reuse = os.environ.get("BENCH_ANON_DIR")
    tmp = reuse or tempfile.mkdtemp(prefix="dagr-bench-anon-")
    env = {**os.environ, "DAGR_VAR_DIR": tmp, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)  # SQLite in the scratch directory
    os.environ.update({"DAGR_VAR_DIR": tmp, "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.pop("DATABASE_URL", None)
    dagr = str(Path(sys.executable).parent / "dagr")
    rows: list[tuple[str, int, float]] = []
    if not reuse:
        started = time.perf_counter()
        subprocess.run([dagr, "migrate", "-v", "0"], env=env, check=True)
        subprocess.run(
            [dagr, "demo", "--persons", str(n)], env=env, check=True, stdout=subprocess.DEVNULL
        )
        elapsed = time.perf_counter() - started
        rows.append(("dagr demo (generate + load, not in the rate)", 0, elapsed))

    import django

    django.setup()
    import orjson
    from django.db import connection

    from dagr.anonymisation.engine import (
        DatasetInput,
        PrivacySettings,
        ReleaseSpec,
        build_release,
        default_quasi_identifiers,
    )
    from dagr.anonymisation.rules import default_rules
    from dagr.catalog.models import Dataset
    from dagr.catalog.schema import parse_schema
    from dagr.demo import schemas

    codes = [d["code"] for d in schemas.DATASETS]  # addresses, persons, companies
    parsed = {d["code"]: parse_schema(d["schema"]) for d in schemas.DATASETS}
    ids = dict(Dataset.objects.filter(code__in=codes).values_list("code", "id"))

    def count(dataset_id: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM records_record WHERE dataset_id = %s AND deleted_at IS NULL",
                [dataset_id],
            )
            return int(cursor.fetchone()[0])

    def texts(dataset_id: int) -> Iterator[str]:
        """The records' JSON text (parsed where they are transformed: in the workers)."""
        last = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    # "+dataset_id": walk the primary key in id order; with the (dataset, key)
                    # index SQLite would sort the whole dataset for every batch
                    "SELECT id, data FROM records_record WHERE +dataset_id = %s "
                    "AND deleted_at IS NULL AND id > %s ORDER BY id LIMIT %s",
                    [dataset_id, last, BATCH],
                )
                batch = cursor.fetchall()
            if not batch:
                return
            last = batch[-1][0]
            for _id, data in batch:
                yield data

    def reader(dataset_id: int) -> Iterator[dict[str, Any]]:
        return map(orjson.loads, texts(dataset_id))

    def partial_reader(code: str) -> Callable[[tuple[str, ...]], Iterator[dict[str, Any]]]:
        """The pre-pass's read: only the given top-level fields (SQLite's json_extract; a list
        field comes as its JSON text)."""
        lists = {f.name for f in parsed[code].fields if f.type == "list"}

        def read(names: tuple[str, ...]) -> Iterator[dict[str, Any]]:
            columns = ", ".join(f"json_extract(data, '$.\"{name}\"')" for name in names)
            last = 0
            loads = orjson.loads
            while True:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT id, {columns} FROM records_record WHERE +dataset_id = %s "  # noqa: S608 (schema field names)
                        "AND deleted_at IS NULL AND id > %s ORDER BY id LIMIT %s",
                        [ids[code], last, BATCH],
                    )
                    batch = cursor.fetchall()
                if not batch:
                    return
                last = batch[-1][0]
                for row in batch:
                    record = {}
                    for name, value in zip(names, row[1:], strict=True):
                        if value is not None:
                            record[name] = loads(value) if name in lists else value
                    yield record

        return read

    def address_pairs() -> Iterator[tuple[str, str | None]]:
        for record in reader(ids[codes[0]]):
            yield record["code"], record.get("parent_code")

    counts = {code: count(ids[code]) for code in codes}
    datasets = tuple(
        DatasetInput(
            code=code,
            schema=parsed[code],
            rules=default_rules(parsed[code]),
            records=lambda code=code: reader(ids[code]),
            count=counts[code],
            partial_records=partial_reader(code) if PARTIAL else None,
            raw_records=lambda code=code: texts(ids[code]),
        )
        for code in codes
    )
    spec = ReleaseSpec(
        key=os.urandom(32),
        datasets=datasets,
        privacy=PrivacySettings(
            quasi_identifiers=default_quasi_identifiers([(c, parsed[c]) for c in codes]), k=5
        ),
        address_codes=address_pairs(),
        workers=WORKERS,
    )
    total = sum(counts.values())
    samples: list[tuple[int, float]] = []
    next_sample = [total // 4]

    worker_peak = [0.0]

    def progress(done: int) -> None:
        if done % 20_000 == 0:
            worker_peak[0] = max(worker_peak[0], _workers_hwm_mb())
        if done >= next_sample[0]:
            samples.append((done, _rss_mb()))
            next_sample[0] += total // 4

    out_path = Path(tmp) / "release.ndjson"
    dumps = orjson.dumps
    rss_before = _rss_mb()
    with open(out_path, "wb", buffering=1 << 20) as out:
        write = out.write

        first: list[float] = []  # wall and CPU time of the first output (the pre-pass's end)

        def sink(_code: str, record: dict[str, Any]) -> None:
            if not first:
                first.extend((time.perf_counter(), time.process_time()))
            write(dumps(record))
            write(b"\n")

        def ndjson(_code: str, lines: bytes, _n: int) -> None:
            if not first:
                first.extend((time.perf_counter(), time.process_time()))
            write(lines)

        started = time.perf_counter()
        cpu_started = time.process_time()
        children_started = _children_cpu()
        report = build_release(spec, sink, progress, ndjson=ndjson)
        seconds = time.perf_counter() - started
        # the release's own CPU and that of any child process it waited for
        own_cpu = time.process_time() - cpu_started
        workers_cpu = _children_cpu() - children_started
        cpu_seconds = own_cpu + workers_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("build_release (read + anonymise + write NDJSON)", total, seconds))
    for code in codes:
        rows.append((f"  {code}", counts[code], 0.0))

    print(
        f"\nDAGR anonymisation benchmark — {n:,} persons on SQLite ({tmp}), "
        f"{WORKERS} worker process(es)\n"
    )
    print(f"{'step':<50} {'records':>10} {'seconds':>9} {'records/s':>11} {'rec/CPU-s':>11}")
    print("-" * 95)
    for step, records, secs in rows:
        rate = f"{records / secs:,.0f}" if records and secs else "—"
        secs_text = f"{secs:9.1f}" if secs else f"{'':>9}"
        per_cpu = f"{records / cpu_seconds:,.0f}" if records and secs else "—"
        print(f"{step:<50} {records:>10,} {secs_text} {rate:>11} {per_cpu:>11}")
    print(
        f"\nCPU time of the release {cpu_seconds:.1f} s ({total / cpu_seconds:,.0f} records per "
        f"CPU second; wall time counts the other processes of a shared machine too; load "
        f"average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"  this process {own_cpu:.1f} CPU s, of which before the first output (pre-pass, "
        f"plans) {first[1] - cpu_started:.1f} CPU s / {first[0] - started:.1f} s wall; worker "
        f"processes {workers_cpu:.1f} CPU s"
    )
    print(f"\nRSS before the release {rss_before:,.0f} MB; during it (records done → MB):")
    print("  " + ", ".join(f"{done:,} → {mb:,.0f}" for done, mb in samples))
    details = report.details
    proof = details["leak_proof"]
    print(
        f"\nprivacy report: passed={report.passed} k={report.k} (required {report.k_required}) "
        f"classes={details['classes']:,} persons={details['persons']:,}"
    )
    print(
        f"leak proof: leaks={proof['leaks']} records={proof['records']:,} "
        f"cells={proof['cells_checked']:,} windows={proof['windows_checked']:,} "
        f"original_hashes={proof['original_hashes']:,} coincidences={proof['coincidences']:,}"
    )
    if proof["examples"]:
        print(f"leak examples: {proof['examples']}")
    print(f"identifiers: {details['identifiers']}; addresses: {details['addresses']}")
    print(f"collisions: {details['collisions']}; problems: {details['problems']}")
    print(f"output: {out_path.stat().st_size / 2**20:,.0f} MB NDJSON")
    if WORKERS > 1:
        print(
            f"peak RSS of this process {peak:,.0f} MB, "
            f"of the largest worker {worker_peak[0]:,.0f} MB"
        )
    records_per_s = total / seconds
    if summary := os.environ.get("BENCH_ANON_SUMMARY"):
        with open(summary, "a") as handle:
            handle.write(
                json.dumps(
                    {
                        "persons": counts[codes[1]],
                        "records": total,
                        "seconds": seconds,
                        "records_per_s": records_per_s,
                        "cpu_seconds": cpu_seconds,
                        "records_per_cpu_s": total / cpu_seconds,
                        "peak_rss_mb": peak,
                        "worker_rss_mb": worker_peak[0],
                        "workers": WORKERS,
                        "leaks": proof["leaks"],
                        "passed": report.passed,
                    }
                )
                + "\n"
            )
    print(
        f"\nRESULT anon records_per_s={records_per_s:.0f} "
        f"records_per_cpu_s={total / cpu_seconds:.0f} peak_rss_mb={peak:.0f} "
        f"worker_peak_rss_mb={worker_peak[0]:.0f} workers={WORKERS} k={report.k} "
        f"persons={counts[codes[1]]} companies={counts[codes[2]]} addresses={counts[codes[0]]} "
        f"leaks={proof['leaks']} passed={report.passed}"
    )
    connection.close()
    if not os.environ.get("BENCH_KEEP") and not reuse:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
