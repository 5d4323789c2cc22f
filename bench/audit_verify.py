"""Audit verification speed: ``dagr audit verify`` over BENCH_AUDIT_N chained access entries.

    BENCH_AUDIT_N=10000000 .venv/bin/python bench/audit_verify.py      (make bench-audit)

1. For each backend a child process migrates a fresh database (a temporary SQLite file, and a
   scratch PostgreSQL database ``dagr_bench_audit_<pid>`` created and dropped on ``BENCH_PG``,
   default ``postgres://postgres@127.0.0.1:5432/postgres``; skipped with a clear line when not
   reachable) and writes ``BENCH_AUDIT_N`` (default 10,000,000) access entries — each with one
   subject, in ``BENCH_AUDIT_SEGMENTS`` (default 8) segments, chained with the real keyed digest
   (``dagr.audit.integrity.access_digest``) — quickly: ``executemany`` in large transactions on
   SQLite (secondary indexes built afterwards), ``COPY`` on PostgreSQL. Then the heads and 50
   administrative entries, and a signed checkpoint.
2. Timed: a full ``audit_verify`` (recording the verified state), then 1 % more entries and a
   checkpoint, then an incremental ``audit_verify`` (only those new entries are read).
3. A table, then
   ``RESULT audit_verify sqlite_entries_per_s=<n> sqlite_full_s=<s> sqlite_incremental_s=<s>
   postgres_entries_per_s=<n> postgres_full_s=<s> postgres_incremental_s=<s> n=<N>``
   (a skipped backend reports 0).

``BENCH_KEEP=1`` keeps the temporary directory; ``BENCH_AUDIT_PG=0`` skips PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
BATCH = 100_000


def generate(n: int, segments: int, start: dict[str, tuple[int, str]]) -> dict:
    """Write ``n`` chained entries spread over ``segments`` segments, continuing the chains in
    ``start`` (segment -> (last seq, last digest)); returns the new heads."""
    import orjson
    from django.db import connection, transaction

    from dagr.audit.access import subject_hash
    from dagr.audit.integrity import ACCESS_COLUMNS, GENESIS, access_digest, chain_key

    key = chain_key()
    names = sorted(start) or [f"bench{i:02d}-{i}" for i in range(segments)]
    heads = {name: start.get(name, (0, GENESIS)) for name in names}
    base = datetime(2026, 1, 1, tzinfo=UTC)
    columns = (*ACCESS_COLUMNS, "prev_hash", "entry_hash", "subject_hashes")
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM audit_accessentry")
        next_id = cursor.fetchone()[0] + 1
    done = 0
    while done < n:
        rows, subjects = [], []
        for i in range(done, min(n, done + BATCH)):
            name = names[i % len(names)]
            seq, prev = heads[name]
            seq += 1
            at = base + timedelta(microseconds=37 * (next_id + i))
            value = f"32{(next_id + i) % 10_000_000:09d}"
            subject = subject_hash(value)
            content = [
                at.replace(tzinfo=None).isoformat(timespec="microseconds"),
                f"req-{i}", 7, 9, None, "Bench caller", 1, "persons", 3, "P-1", "get", "",
                1, 1, ["first_name", "last_name"], "ok", 200, 0.731, name, seq, 2,
            ]  # fmt: skip
            digest = access_digest(key, prev, content, [subject])
            heads[name] = (seq, digest)
            row = list(content)
            row[0] = at if pg else at.replace(tzinfo=None).isoformat(sep=" ")
            row[14] = orjson.dumps(row[14]).decode()
            rows.append((next_id + i, *row, prev, digest, subject))
            subjects.append((next_id + i, subject))
        with transaction.atomic(), connection.cursor() as cursor:
            if pg:
                raw = cursor.cursor
                with raw.copy(
                    f"COPY audit_accessentry (id, {', '.join(columns)}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
                with raw.copy(
                    "COPY audit_accesssubject (entry_id, subject_hash) FROM STDIN"
                ) as copy:
                    for row in subjects:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * (len(columns) + 1))
                cursor.executemany(
                    f"INSERT INTO audit_accessentry (id, {', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                    rows,
                )
                cursor.executemany(
                    "INSERT INTO audit_accesssubject (entry_id, subject_hash) VALUES (%s, %s)",
                    subjects,
                )
        done += len(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        for name, (seq, digest) in heads.items():
            cursor.execute("DELETE FROM audit_accesssegment WHERE segment = %s", [name])
            cursor.execute(
                "INSERT INTO audit_accesssegment (segment, started_at, last_seq, last_hash) "
                "VALUES (%s, %s, %s, %s)",
                [name, connection.ops.adapt_datetimefield_value(base), seq, digest],
            )
        if pg:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_accessentry', 'id'), "
                "(SELECT MAX(id) FROM audit_accessentry))"
            )
        # the subject index written along (as the worker would have): the watermark covers it
        cursor.execute("DELETE FROM audit_accesssubjectindex")
        cursor.execute(
            "INSERT INTO audit_accesssubjectindex (id, indexed_to) "
            "SELECT 1, COALESCE(MAX(id), 0) FROM audit_accessentry"
        )
    return heads


def worker(n: int, segments: int) -> None:
    """Runs in a child process whose environment selects the database; prints one JSON line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dagr.audit.integrity import audit_verify, checkpoint_write
    from dagr.audit.services import admin_entry_create

    call_command("migrate", verbosity=0)
    indexes: list[str] = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('audit_accessentry', 'audit_accesssubject')"
            )
            for name, sql in cursor.fetchall():
                indexes.append(sql)
                cursor.execute(f'DROP INDEX "{name}"')
    started = time.perf_counter()
    heads = generate(n, segments, {})
    with connection.cursor() as cursor:
        for sql in indexes:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    for i in range(50):
        admin_entry_create(action="bench.thing.updated", actor=None, target_id=str(i))
    checkpoint_write()
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    full = audit_verify(record=True)
    full_s = time.perf_counter() - started
    assert full.ok, [str(p) for p in full.problems[:5]]

    extra = max(1, n // 100)
    generate(extra, segments, heads)
    checkpoint_write()
    started = time.perf_counter()
    incremental = audit_verify(incremental=True, record=True)
    incremental_s = time.perf_counter() - started
    assert incremental.ok, [str(p) for p in incremental.problems[:5]]
    result = {
        "backend": connection.vendor,
        "entries": full.entries,
        "generate_s": generate_s,
        "full_s": full_s,
        "incremental_entries": incremental.entries,
        "incremental_s": incremental_s,
    }
    connection.close()
    print("BENCH " + json.dumps(result), flush=True)


def run_child(label: str, n: int, segments: int, env: dict[str, str]) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", str(n), str(segments)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    print(f"{label}: the benchmark failed (exit {proc.returncode})", file=sys.stderr)
    print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
    return None


def pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def main() -> None:
    n = int(os.environ.get("BENCH_AUDIT_N", "10000000"))
    segments = int(os.environ.get("BENCH_AUDIT_SEGMENTS", "8"))
    pg_url = os.environ.get("BENCH_PG", DEFAULT_PG)
    tmp = Path(tempfile.mkdtemp(prefix="dagr-bench-audit-"))
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    base_env.setdefault("DAGR_AUDIT_CHAIN_KEY", "bench-chain-key")
    base_env.setdefault("DAGR_AUDIT_KEY", "bench-subject-key")
    results: list[dict] = []
    notes: list[str] = []
    try:
        found = run_child("sqlite", n, segments, {**base_env, "DAGR_VAR_DIR": str(tmp / "sqlite")})
        if found:
            results.append(found)
        if os.environ.get("BENCH_AUDIT_PG", "1") != "0":
            db_name = f"dagr_bench_audit_{os.getpid()}"
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
                    found = run_child("postgresql", n, segments, pg_env)
                    if found:
                        results.append(found)
                finally:
                    pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        else:
            notes.append("SKIPPED postgresql: BENCH_AUDIT_PG=0")
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nDAGR audit verification — {n:,} chained access entries in {segments} segments\n")
    print(
        f"{'backend':<12} {'entries':>11} {'write s':>8} {'full s':>8} {'entries/s':>10} "
        f"{'incr. entries':>14} {'incr. s':>8}"
    )
    print("-" * 77)
    for r in results:
        rate = r["entries"] / r["full_s"] if r["full_s"] else 0
        print(
            f"{r['backend']:<12} {r['entries']:>11,} {r['generate_s']:>8.1f} {r['full_s']:>8.1f} "
            f"{rate:>10,.0f} {r['incremental_entries']:>14,} {r['incremental_s']:>8.2f}"
        )
    for note in notes:
        print(note)
    by = {r["backend"]: r for r in results}

    def figures(name: str, label: str) -> str:
        r = by.get(name)
        if not r:
            return f"{label}_entries_per_s=0 {label}_full_s=0 {label}_incremental_s=0"
        return (
            f"{label}_entries_per_s={round(r['entries'] / r['full_s'])} "
            f"{label}_full_s={r['full_s']:.1f} {label}_incremental_s={r['incremental_s']:.2f}"
        )

    print(
        f"RESULT audit_verify {figures('sqlite', 'sqlite')} {figures('postgresql', 'postgres')} "
        f"n={n}"
    )
    if not results:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
