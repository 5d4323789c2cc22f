"""In-process A/B of the anonymisation engine (docs/anonymisation-performance.md).

    BENCH_AB_N=100000 BENCH_AB_OLD=<dir holding a copy of an older dagr/anonymisation as
    package "oldanon"> .venv/bin/python bench/anon_ab.py [repeats]

The demo registers (N persons, N/10 companies, N/2 addresses) are generated once into memory
as their JSON text (the stored form); each run parses them, builds the release with a fixed
key and workers=BENCH_AB_WORKERS (default 1) and hashes the NDJSON output and the privacy
report. Runs of the old and the new engine alternate; the CPU seconds (this process and its
children) of each run, the wall and CPU seconds before its first output (the pre-pass and
the plans) and the digests are printed: the digests must be equal.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    import django

    django.setup()
    import orjson

    from dagr.catalog.schema import parse_schema
    from dagr.demo import generators, schemas

    n = int(os.environ.get("BENCH_AB_N", "100000"))
    workers = int(os.environ.get("BENCH_AB_WORKERS", "1"))
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3

    def rng(name: str) -> random.Random:
        return random.Random(f"dagr-demo:1:{name}")

    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(rng("addresses"), n // 2)
    )
    data: dict[str, list[bytes]] = {}
    data[schemas.ADDRESSES["code"]] = [orjson.dumps(r) for r in addresses]
    adults, persons = generators.adult_sample(
        rng("board"), generators.generate_persons(rng("persons"), n, buildings), n // 10 * 3
    )
    data[schemas.PERSONS["code"]] = [orjson.dumps(r) for r in persons]
    data[schemas.COMPANIES["code"]] = [
        orjson.dumps(r)
        for r in generators.generate_companies(rng("companies"), n // 10, adults, buildings)
    ]
    codes = [d["code"] for d in schemas.DATASETS]
    parsed = {d["code"]: parse_schema(d["schema"]) for d in schemas.DATASETS}
    total = sum(len(v) for v in data.values())
    print(f"{n:,} persons, {total:,} records in memory; workers={workers}", flush=True)

    engines: list[tuple[str, Any]] = []
    old_dir = os.environ.get("BENCH_AB_OLD")
    if old_dir:
        sys.path.insert(0, old_dir)
        engines.append(("old", importlib.import_module("oldanon.engine")))
    engines.append(("new", importlib.import_module("dagr.anonymisation.engine")))
    if os.environ.get("BENCH_AB_NOGC"):  # the new engine again with the collector off
        engines.append(("new-nogc", engines[-1][1]))
    from dagr.anonymisation.rules import default_rules

    def run(eng: Any) -> tuple[float, float, str]:
        loads = orjson.loads

        def reader(code: str) -> Any:
            return lambda: (loads(b) for b in data[code])

        def raw(code: str) -> Any:
            return lambda: iter(data[code])

        datasets = []
        for code in codes:
            kwargs: dict[str, Any] = {}
            if "raw_records" in eng.DatasetInput.__dataclass_fields__:
                kwargs["raw_records"] = raw(code)
            datasets.append(
                eng.DatasetInput(
                    code=code,
                    schema=parsed[code],
                    rules=default_rules(parsed[code]),
                    records=reader(code),
                    count=len(data[code]),
                    **kwargs,
                )
            )
        spec = eng.ReleaseSpec(
            key=b"k" * 32,
            datasets=tuple(datasets),
            privacy=eng.PrivacySettings(
                quasi_identifiers=eng.default_quasi_identifiers([(c, parsed[c]) for c in codes]),
                k=5,
            ),
            address_codes=(
                (r["code"], r.get("parent_code"))
                for r in map(loads, data[schemas.ADDRESSES["code"]])
            ),
            workers=workers,
        )
        digest = hashlib.sha256()
        dumps = orjson.dumps
        update = digest.update

        first: list[float] = []  # wall and CPU (with the reaped children) at the first output

        def sink(_code: str, record: dict[str, Any]) -> None:
            if not first:
                first.extend((time.perf_counter(), _cpu()))
            update(dumps(record))
            update(b"\n")

        def ndjson(_code: str, blob: bytes, _n: int) -> None:
            if not first:
                first.extend((time.perf_counter(), _cpu()))
            update(blob)

        kwargs = {}
        if hasattr(eng, "NdjsonSink"):
            kwargs["ndjson"] = ndjson
        started, cpu_started, own = time.perf_counter(), _cpu(), time.process_time()
        report = eng.build_release(spec, sink, **kwargs)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu_started
        own = time.process_time() - own
        print(
            f"  this process {own:.2f} CPU s, children {cpu - own:.2f} CPU s; before the first "
            f"output (pre-pass, plans) {first[0] - started:.2f} s wall, "
            f"{first[1] - cpu_started:.2f} CPU s (with the pre-pass's children)",
            flush=True,
        )
        digest.update(orjson.dumps(report.as_json(), option=orjson.OPT_SORT_KEYS))
        return cpu, seconds, digest.hexdigest()[:16]

    results: dict[str, list[float]] = {name: [] for name, _ in engines}
    for r in range(repeats):
        for name, eng in engines:
            if name.endswith("-nogc"):
                gc.disable()
            cpu, seconds, digest = run(eng)
            gc.enable()
            results[name].append(cpu)
            print(
                f"run {r} {name}: {cpu:.2f} CPU s, {seconds:.2f} s wall, "
                f"{total / cpu:,.0f} rec/CPU-s, digest {digest}, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for name, cpus in results.items():
        print(f"{name}: min {min(cpus):.2f} CPU s = {total / min(cpus):,.0f} rec/CPU-s")


if __name__ == "__main__":
    main()
