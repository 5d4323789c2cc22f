"""Time the DCAT-AP catalogue and its SHACL validation (issue #18).

    BENCH_DCAT_N=1000 .venv/bin/python bench/dcat.py      (make bench-dcat)

On a scratch SQLite database in a temporary directory: one provider institution and N (default
1,000) production datasets, each with a complete open data description (published). Then:

1. the catalogue page ``/catalog.ttl`` (100 datasets; also ``.jsonld`` and ``.rdf``) through
   Django's test client: the first request of the format (after one request of the HTML
   catalogue has loaded the URL conf and the apps), then the median of 5 requests each made
   right after one of the page's datasets changed (wall and CPU time). There is no page cache:
   every request builds the page, so this is what any request costs;
2. the full validation of the N datasets' graphs with pyshacl against the shipped official shapes
   (``services.validation_refresh_many``: many datasets per pyshacl run, results stored per
   dataset with the graph's hash) — cold (nothing cached), then again (every hash unchanged: no
   pyshacl run), then after 10 datasets changed (only those 10 validated).

Prints a table and ``RESULT dcat catalog_ms=… catalog_cpu_ms=… catalog_first_ms=… validate_s=…``
(catalog_ms: the Turtle page after a change, wall time; validate_s: the cold full validation).
Targets: ≤ 300 ms and ≤ 15 s.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    n = int(os.environ.get("BENCH_DCAT_N", "1000"))
    tmp = tempfile.mkdtemp(prefix="dagr-bench-dcat-")
    os.environ.update({"DAGR_VAR_DIR": tmp, "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.pop("DATABASE_URL", None)  # SQLite in the scratch directory
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from dagr.catalog.models import Dataset
    from dagr.opendata import services, validation
    from dagr.opendata import vocabularies as v
    from dagr.opendata.models import DatasetMetadata
    from tests.factories import make_institution

    rows: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    provider = make_institution(name="Bench iestāde")
    Dataset.objects.bulk_create(
        Dataset(
            provider=provider,
            code=f"bench-{i:05d}",
            title_lv=f"Datu kopa {i}",
            title_en=f"Dataset {i}",
            description_lv=f"Datu kopas {i} apraksts.",
            description_en=f"Description of dataset {i}.",
            status=Dataset.Status.PRODUCTION,
        )
        for i in range(n)
    )
    eu = v.EU
    datasets = list(Dataset.objects.select_related("provider").order_by("code"))
    DatasetMetadata.objects.bulk_create(
        DatasetMetadata(
            dataset=ds,
            publisher_name_lv="Bench iestāde",
            publisher_name_en="Bench institution",
            contact_name_lv="Atbalsts",
            contact_name_en="Support",
            contact_email="dati@bench.example",
            licence=f"{eu}licence/CC_BY_4_0",
            access_rights=f"{eu}access-right/RESTRICTED",
            themes=[f"{eu}data-theme/{('SOCI', 'ECON', 'GOVE')[i % 3]}"],
            frequency=f"{eu}frequency/DAILY",
            spatial=[f"{eu}country/LVA"],
            languages=[f"{eu}language/LAV"],
            keywords_lv=["reģistrs", f"kopa{i}"],
            keywords_en=["register", f"set{i}"],
            rights_lv="Ar piekļuves atļauju.",
            rights_en="Under an access grant.",
            distribution_status=f"{eu}distribution-status/COMPLETED",
            published=True,
        )
        for i, ds in enumerate(datasets)
    )
    rows.append((f"set-up: {n:,} datasets with metadata", f"{time.perf_counter() - t0:.1f} s"))

    client = Client()
    t = time.perf_counter()
    assert client.get("/catalog/").status_code == 200  # the process's first request: imports
    rows.append(
        (
            "first request of the process (the HTML catalogue: URL conf, imports)",
            f"{(time.perf_counter() - t) * 1000:.0f} ms",
        )
    )
    page_ms: dict[str, float] = {}
    page_cpu_ms: dict[str, float] = {}
    first_ms: dict[str, float] = {}
    page_one = datasets[:100]
    for ext in ("ttl", "jsonld", "rdf"):
        t = time.perf_counter()
        assert client.get(f"/catalog.{ext}").status_code == 200
        first_ms[ext] = (time.perf_counter() - t) * 1000
        rows.append(
            (
                f"/catalog.{ext} (100 datasets), first request of it",
                f"{first_ms[ext]:.0f} ms",
            )
        )
        # Cold: each request follows a change of one of the page's datasets (there is no page
        # cache: every request builds and writes the page, so this is any request's cost).
        times, cpu = [], []
        for i in range(5):
            DatasetMetadata.objects.filter(dataset=page_one[i * 7]).update(
                keywords_en=["register", f"changed {ext} {i}"], updated_at=timezone.now()
            )
            t, c = time.perf_counter(), time.process_time()
            response = client.get(f"/catalog.{ext}")
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            assert response.status_code == 200
            assert f"changed {ext} {i}".encode() in response.content
        page_ms[ext] = statistics.median(times)
        page_cpu_ms[ext] = statistics.median(cpu)
        rows.append(
            (
                f"/catalog.{ext} (100 datasets) after a change, median of 5",
                f"{page_ms[ext]:.0f} ms (CPU {page_cpu_ms[ext]:.0f} ms)",
            )
        )

    t = time.perf_counter()
    validation.shapes()
    rows.append(("parse the shapes (once per process)", f"{time.perf_counter() - t:.2f} s"))

    t = time.perf_counter()
    results = services.validation_refresh_many(datasets)
    cold = time.perf_counter() - t
    conforming = sum(results.values())
    rows.append((f"full validation of {n:,} (cold)", f"{cold:.1f} s"))
    rows.append(
        (
            "  distinct structures validated by pyshacl",
            f"{validation.last_run.get('structures', 0):,}",
        )
    )
    rows.append(("  conforming (no violation)", f"{conforming:,} / {n:,}"))

    t = time.perf_counter()
    services.validation_refresh_many(datasets)
    rows.append(
        (f"full validation of {n:,} again (all cached)", f"{time.perf_counter() - t:.1f} s")
    )

    changed = datasets[:10]
    DatasetMetadata.objects.filter(dataset__in=changed).update(keywords_en=["changed"])
    t = time.perf_counter()
    services.validation_refresh_many(datasets)
    rows.append((f"full validation of {n:,} after 10 changed", f"{time.perf_counter() - t:.1f} s"))

    # The same cold validation without sharing structures: one dataset's graph per pyshacl run
    # would take N times this (a sample of 20 measured, scaled).
    sample = datasets[:20]
    DatasetMetadata.objects.filter(dataset__in=sample).update(validated_hash="")
    t = time.perf_counter()
    for ds in sample:
        services.validation_refresh(ds)
    each = (time.perf_counter() - t) / len(sample)
    rows.append(("  for comparison: one dataset per pyshacl run", f"{each:.2f} s each"))

    width = max(len(label) for label, _ in rows)
    print(f"{'step'.ljust(width)}  result")
    print(f"{'-' * width}  ------")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} cores while measuring)")
    print(
        f"RESULT dcat catalog_ms={page_ms['ttl']:.0f} catalog_cpu_ms={page_cpu_ms['ttl']:.0f} "
        f"catalog_first_ms={first_ms['ttl']:.0f} validate_s={cold:.1f}"
    )
    if conforming != n:
        sys.exit(f"{n - conforming} datasets did not conform")
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
