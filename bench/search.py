"""Help search speed: BENCH_SEARCH_ARTICLES (default 10,000) generated articles, then many
queries through ``knowledge.selectors.search`` (the code path of /help/search/ and the API:
terms, the index query, the ranking and the highlighted snippets).

    .venv/bin/python bench/search.py        (make bench-search)

1. A fresh SQLite database in a temporary directory (or ``DATABASE_URL`` when set), migrated
   (the shipped articles come with the migration).
2. Articles generated from Latvian and English words in many inflected forms (a fixed seed),
   bulk-created and indexed in one transaction (the same ``loading.index`` as every write).
3. BENCH_SEARCH_QUERIES (default 400) queries of four kinds — the test table's queries, one
   random inflected word, two words, words typed without diacritics — each timed.
4. A table (p50/p95/max per kind, wall time, and p95 of the process's CPU time — on a shared
   machine the wall time counts other processes too), then ``RESULT search articles=<n>
   queries=<q> p50_ms=<a> p95_ms=<b> max_ms=<c> p95_cpu_ms=<d> index_s=<i>``.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Noun stems with endings of several declensions and cases: what makes Latvian search hard.
STEMS_LV = [
    "piekļuv", "atļauj", "datu kop", "savienojum", "pilnvar", "sertifikāt", "identifikator",
    "shēm", "ierakst", "iestād", "pieprasījum", "lietotāj", "paraksttiesīg", "audit",
    "datn", "kļūd", "lauk", "reģistr", "nosacījum", "termiņ", "mērķ", "pamat", "pārskat",
    "izmaiņ", "sistēm", "konfigurācij", "vērtīb", "statistik", "paziņojum", "versij",
]  # fmt: skip
ENDINGS_LV = ["a", "as", "ai", "u", "ā", "ām", "ās", "e", "es", "ei", "i", "s", "am", "iem", "os"]
WORDS_EN = [
    "access", "grant", "dataset", "connection", "token", "certificate", "identifier", "schema",
    "record", "institution", "request", "user", "signatory", "audit", "file", "error", "field",
    "register", "condition", "validity", "purpose", "basis", "report", "change", "system",
]  # fmt: skip


SYLLABLES = ["ka", "re", "pi", "lo", "mu", "ša", "ze", "ģi", "tu", "va", "no", "be", "dī", "ro"]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    """The real stems plus made-up ones: a knowledge base uses thousands of distinct words."""
    made = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    return [stem.split()[-1] for stem in STEMS_LV] + sorted(made)


VOCABULARY = _vocabulary(random.Random(7), 4000)
# Word frequencies fall off as in real text (Zipf): the common words are in most articles.
CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(VOCABULARY))))


def lv_word(rng: random.Random) -> str:
    return rng.choices(VOCABULARY, cum_weights=CUMULATIVE)[0] + rng.choice(ENDINGS_LV)


def sentence(rng: random.Random, words: int, english: bool) -> str:
    if english:
        return " ".join(rng.choice(WORDS_EN) + rng.choice(["", "s", "ing"]) for _ in range(words))
    return " ".join(lv_word(rng) for _ in range(words))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    articles = int(os.environ.get("BENCH_SEARCH_ARTICLES", "10000"))
    queries = int(os.environ.get("BENCH_SEARCH_QUERIES", "400"))
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-search-"))
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DAGR_VAR_DIR", str(tmp / "var"))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction

        from dagr.knowledge import loading, selectors
        from dagr.knowledge.models import Article
        from tests.knowledge.test_search import ENGLISH, LATVIAN

        call_command("migrate", verbosity=0)
        rng = random.Random(16)
        categories = ["getting-started", "recipients", "providers", "signatories", "api"]
        started = time.perf_counter()
        with transaction.atomic():
            batch = [
                Article(
                    slug=f"bench-{n}",
                    category=rng.choice(categories),
                    audiences=["everyone"],
                    order=n,
                    title_lv=sentence(rng, rng.randint(3, 7), False).capitalize(),
                    title_en=sentence(rng, rng.randint(3, 7), True).capitalize(),
                    body_lv="\n\n".join(sentence(rng, 40, False) + "." for _ in range(6)),
                    body_en="\n\n".join(sentence(rng, 40, True) + "." for _ in range(6)),
                )
                for n in range(articles)
            ]
            for article in Article.objects.bulk_create(batch, batch_size=1000):
                loading.index(article)
        index_s = time.perf_counter() - started

        kinds: dict[str, list[tuple[str, str]]] = {
            "query table (lv+en)": [(q, "lv") for q, _ in LATVIAN]
            + [(q, "en") for q, _ in ENGLISH],
            "one word (lv)": [(rng.choice(VOCABULARY) + "ām", "lv") for _ in range(queries // 4)],
            "two words (lv)": [
                (f"{lv_word(rng)} {lv_word(rng)}", "lv") for _ in range(queries // 4)
            ],
            "no diacritics (lv)": [
                (lv_word(rng).translate(str.maketrans("āēīūļņķģšžč", "aeiulnkgszc")), "lv")
                for _ in range(queries // 4)
            ],
            "English words": [(sentence(rng, 2, True), "en") for _ in range(queries // 4)],
        }
        for query, language in kinds["one word (lv)"][:5]:  # warm the caches
            selectors.search(query, language=language, user=None)
        rows, every, every_cpu = [], [], []
        for kind, items in kinds.items():
            times, cpu, hits = [], [], 0
            for query, language in items:
                begun, begun_cpu = time.perf_counter(), time.process_time()
                found = selectors.search(query, language=language, user=None)
                times.append((time.perf_counter() - begun) * 1000)
                cpu.append((time.process_time() - begun_cpu) * 1000)
                hits += bool(found)
            every += times
            every_cpu += cpu
            rows.append(
                (
                    kind, len(times), hits, statistics.median(times), percentile(times, 0.95),
                    max(times), percentile(cpu, 0.95),
                )
            )  # fmt: skip
        print(f"\nHelp search: {articles:,} generated articles ({connection.vendor}), "
              f"indexed in {index_s:.1f} s\n")  # fmt: skip
        print(
            f"{'queries':<22}{'n':>6}{'with hits':>11}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
            f"{'p95 CPU ms':>12}"
        )
        for kind, n, hits, p50, p95, worst, p95_cpu in rows:
            print(f"{kind:<22}{n:>6}{hits:>11}{p50:>9.1f}{p95:>9.1f}{worst:>9.1f}{p95_cpu:>12.1f}")
        p50, p95 = statistics.median(every), percentile(every, 0.95)
        p95_cpu = percentile(every_cpu, 0.95)
        print(
            f"{'all':<22}{len(every):>6}{'':>11}{p50:>9.1f}{p95:>9.1f}{max(every):>9.1f}"
            f"{p95_cpu:>12.1f}\n"
        )
        print(
            f"RESULT search articles={articles} queries={len(every)} p50_ms={p50:.1f} "
            f"p95_ms={p95:.1f} max_ms={max(every):.1f} p95_cpu_ms={p95_cpu:.1f} "
            f"index_s={index_s:.1f}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
