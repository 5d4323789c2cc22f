"""CPU A/B of the access entry's database write on SQLite with and without an index of the audit
table (``docs/performance.md``, "Access audit: CPU per entry"): two copies of a bench database,
one with and one without the index ``BENCH_INDEX`` on ``BENCH_INDEX_COLUMNS`` (default: the
single-column ``dataset_id`` index that migration ``audit.0007`` drops; created in the one copy
if the database no longer has it), written alternately in blocks of ``BENCH_BLOCK`` entries,
``BENCH_ROUNDS`` rounds, the order reversed every round, in ONE process. Each entry is the hot
path's statements on the driver's connection: ``BEGIN IMMEDIATE``, the segment head's
compare-and-set, the entry's INSERT, ``COMMIT``; ``time.process_time`` per block.

    BENCH_DB=bench/out/lookup-50000.sqlite3 .venv/bin/python bench/audit_insert_ab.py
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

COLUMNS = (
    "at, request_id, institution_id, connection_id, user_id, actor_label, dataset_id, "
    "dataset_code, grant_id, permission_number, operation, purpose, identifiers_asked, "
    "records_returned, fields, outcome, status_code, duration_ms, segment, segment_seq, version, "
    "prev_hash, entry_hash, subject_hashes"
)
INSERT = f"INSERT INTO audit_accessentry ({COLUMNS}) VALUES ({', '.join('?' * 24)}) RETURNING id"  # noqa: S608
MOVE = (
    "UPDATE audit_accesssegment SET last_seq = ?, last_hash = ? "
    "WHERE segment = ? AND last_seq = ? AND last_hash = ?"
)


def main() -> None:
    source = Path(os.environ["BENCH_DB"])
    index = os.environ.get("BENCH_INDEX", "audit_accessentry_dataset_id_02ab6a2e")
    column = os.environ.get("BENCH_INDEX_COLUMNS", "dataset_id")
    rounds = int(os.environ.get("BENCH_ROUNDS", "20"))
    block = int(os.environ.get("BENCH_BLOCK", "200"))
    work = Path(tempfile.mkdtemp(prefix="audit-insert-ab-"))
    conns: dict[str, sqlite3.Connection] = {}
    heads: dict[str, list] = {}
    try:
        for name in ("with_index", "without_index"):
            path = work / f"{name}.sqlite3"
            with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
                src.backup(dst)  # a consistent copy, the WAL's content included
            conn = sqlite3.connect(path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if name == "without_index":
                conn.execute(f"DROP INDEX IF EXISTS {index}")
            else:  # as before ``audit.0007`` (a bench database is migrated by the bench)
                conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON audit_accessentry ({column})")
            segment = f"insert-ab-{uuid.uuid4().hex[:10]}"
            conn.execute(
                "INSERT INTO audit_accesssegment (segment, started_at, last_seq, last_hash) "
                "VALUES (?, ?, 0, ?)",
                (segment, "2026-12-07 00:00:00", "0" * 64),
            )
            conns[name], heads[name] = conn, [segment, 0, "0" * 64]

        def run(name: str) -> float:
            conn, head = conns[name], heads[name]
            started = time.process_time()
            for _ in range(block):
                segment, seq, last = head
                digest = uuid.uuid4().hex * 2
                at = str(datetime.now(UTC).replace(tzinfo=None))
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(MOVE, (seq + 1, digest, segment, seq, last))
                conn.execute(INSERT, (
                    at, uuid.uuid4().hex, 7, 9, None, "client-1", 3, "persons", 11, "P-1",
                    "record.get", "", 1, 1, '["first_name","last_name"]', "ok", 200, 0.5,
                    segment, seq + 1, 2, last, digest, os.urandom(16),
                )).fetchone()  # fmt: skip
                conn.execute("COMMIT")
                head[1:] = [seq + 1, digest]
            return (time.process_time() - started) / block * 1e6

        samples: dict[str, list[float]] = {name: [] for name in conns}
        for r in range(rounds):
            for name in list(conns) if r % 2 == 0 else list(conns)[::-1]:
                samples[name].append(run(name))
        parts = []
        for name, values in samples.items():
            median, low = statistics.median(values), min(values)
            print(f"{name:<14} CPU µs per entry: median {median:6.1f}  min {low:6.1f}")
            parts.append(f"{name}_us={median:.1f} {name}_min_us={low:.1f}")
        print("RESULT audit_insert_ab " + " ".join(parts))
    finally:
        for conn in conns.values():
            conn.close()
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
