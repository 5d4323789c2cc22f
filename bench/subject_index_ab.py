"""CPU A/B of the access audit's subject layout (issue #19): the subjects written as one row each
into the randomly keyed ``audit_accesssubject`` index in the request's transaction ("old", the
layout before ``dagr.audit.subjects``) against the subjects packed in the entry's own row
("new"), in ONE process over the same database, alternating in blocks (``time.process_time``,
median and min of the blocks): per batch lookup of 1,000 ids and per GET. Then the worker's job
(``subject_index_run``) over the entries of ``BENCH_INDEX_CALLS`` (30) further batch lookups:
its CPU and wall time per subject. On PostgreSQL the backend's CPU (``/proc/<pid>/stat``, 10 ms
ticks) is reported too (``…_server``: ms per call, µs per request or per subject).

    BENCH_PERSONS=50000 BENCH_PG_DB=my_own_db BENCH_PREFILL=500000 python bench/subject_index_ab.py

``BENCH_PREFILL`` subject rows (random hashes) are put into the index first, as a running
installation's index holds (the old layout's cost grows with it). Use a PostgreSQL database of
your own (``BENCH_PG_DB``): this schema differs from main's. Ends with
``RESULT subject_index_ab <backend>_<kind>_<variant>=…`` (batch: ms per call; get: µs per
request; index: µs CPU and wall per subject).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lookup

CHILD = textwrap.dedent(
    """
    import io, json, os, random, sys, time
    from unittest import mock
    import django
    django.setup()
    from django.db import connection, connections, transaction
    from dagr.audit import access as audit, subjects
    from dagr.audit.models import AccessSubject, AccessSubjectIndex
    from dagr.connections.models import Connection
    from dagr.connections.tokens import token_encode
    from dagr.core.db.prepared import fetch_prepared
    info = json.loads(open(sys.argv[1]).read())
    rounds, block, prefill = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    conn = Connection.objects.get(client_id=info["client_id"])
    bearer, _ = token_encode(connection_id=conn.pk, client_id=conn.client_id,
                             institution_id=conn.institution_id, kind=conn.kind, lifetime_s=3600)
    from config.wsgi import application
    pg = connection.vendor == "postgresql"

    # The index as a running installation's: ``prefill`` random hashes (on one existing entry).
    subjects.subject_index_run()
    have = AccessSubject.objects.count()
    if have < prefill:
        rng = random.Random(11)
        entry = AccessSubjectIndex.objects.get(pk=1).indexed_to
        rows = [(entry, rng.randbytes(16)) for _ in range(prefill - have)]
        with transaction.atomic(), connection.cursor() as c:
            c.executemany("INSERT INTO audit_accesssubject (entry_id, subject_hash) "
                          "VALUES (%%s, %%s)", rows)
    print("index rows", AccessSubject.objects.count(), file=sys.stderr)

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    def base(method, path, body=b""):
        return {
            "REQUEST_METHOD": method, "PATH_INFO": path,
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json", "wsgi.errors": sys.stderr,
            "HTTP_HOST": "127.0.0.1:8000", "HTTP_AUTHORIZATION": f"Bearer {bearer}",
            "HTTP_X_PERMISSION_NUMBER": %(permission)r, "REMOTE_ADDR": "127.0.0.1",
        }

    rng = random.Random(7)
    bodies = [json.dumps({"field": "personal_code", "values": rng.sample(info["keys"], 1000)})
              .encode() for _ in range(40)]
    keys = info["keys"]

    # --- the old layout: the new entry with an empty column + one index row per subject, in
    # the request's transaction (main before this change: _insert_checked_sqlite's executemany,
    # _insert_checked's data-modifying CTE with unnest(bytea[])).
    new_sqlite, new_pg = audit._insert_checked_sqlite, audit._insert_checked

    def old_sqlite(db, segment, values, subj):
        last_seq, last_hash = segment.head
        entry_hash, params = audit._entry_params(
            values, last_seq, last_hash, segment.name, subj, db)
        params[-1] = b""
        db.ensure_connection()
        raw = db.connection
        lock = db._lock()
        if lock is not None:
            lock.acquire()
        try:
            raw.execute("BEGIN IMMEDIATE")
            moved = raw.execute(
                "UPDATE audit_accesssegment SET last_seq = ?, last_hash = ? "
                "WHERE segment = ? AND last_seq = ? AND last_hash = ?",
                (last_seq + 1, entry_hash, segment.name, last_seq, last_hash)).rowcount
            if moved != 1:
                raw.execute("ROLLBACK")
                return None
            entry_id = raw.execute(audit._SQLITE_INSERT, params).fetchone()[0]
            if subj:
                raw.executemany("INSERT INTO audit_accesssubject (entry_id, subject_hash) "
                                "VALUES (?, ?)", [(entry_id, h) for h in subj])
            raw.execute("COMMIT")
        finally:
            if lock is not None:
                lock.release()
        return entry_id, last_hash, entry_hash

    def old_pg(db, segment, values, subj):
        last_seq, last_hash = segment.head
        entry_hash, params = audit._entry_params(
            values, last_seq, last_hash, segment.name, subj, db)
        params[-1] = b""
        cols = audit._ENTRY_COLUMNS
        marks = ", ".join("%%s::jsonb" if c == "fields" else "%%s" for c in cols)
        rows = fetch_prepared(db,
            "WITH h AS (UPDATE audit_accesssegment SET last_seq = %%s, last_hash = %%s "
            "WHERE segment = %%s AND last_seq = %%s AND last_hash = %%s RETURNING 1), "
            f"e AS (INSERT INTO audit_accessentry ({', '.join(cols)}) "
            f"SELECT {marks} FROM h RETURNING id), "
            "s AS (INSERT INTO audit_accesssubject (entry_id, subject_hash) "
            "SELECT e.id, x FROM e CROSS JOIN unnest(%%s::bytea[]) AS x) SELECT id FROM e",
            [last_seq + 1, entry_hash, segment.name, last_seq, last_hash, *params, subj])
        if not rows:
            return None
        return rows[0][0], last_hash, entry_hash

    def patches(name):
        if name == "old":
            return [mock.patch.object(audit, "_insert_checked_sqlite", old_sqlite),
                    mock.patch.object(audit, "_insert_checked", old_pg)]
        return []

    calls = [0]
    server_pid = None
    if pg:
        with connection.cursor() as c:
            c.execute("SELECT pg_backend_pid()")
            server_pid = c.fetchone()[0]
    tick = os.sysconf("SC_CLK_TCK")

    def server_cpu():
        # the PostgreSQL backend's CPU seconds so far (utime + stime from /proc)
        if server_pid is None:
            return 0.0
        fields = open(f"/proc/{server_pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    def batch(count):
        started = time.process_time()
        for _ in range(count):
            env = base("POST", "/api/v1/data/%(dataset)s/lookup", bodies[calls[0] %% len(bodies)])
            body = b"".join(application(env, start_response))
            calls[0] += 1
            if not start_response.status.startswith("200"):
                raise SystemExit(body[:500])
        return (time.process_time() - started) / count * 1e3

    def get(count):
        started = time.process_time()
        for _ in range(count):
            key = keys[calls[0] %% len(keys)]
            calls[0] += 7919
            env = base("GET", f"/api/v1/data/%(dataset)s/records/personal_code/{key}")
            body = b"".join(application(env, start_response))
            if not start_response.status.startswith("200"):
                raise SystemExit(body[:500])
        return (time.process_time() - started) / count * 1e6

    out = {}
    first = AccessSubjectIndex.objects.get(pk=1).indexed_to
    for kind, fn, size, unit in (("batch", batch, block, 1e3), ("get", get, block * 100, 1e6)):
        fn(2)
        for name in ("old", "new"):
            out[f"{kind}_{name}"] = []
            if pg:
                out[f"{kind}_{name}_server"] = []
        for r in range(rounds):
            for name in (("old", "new") if r %% 2 == 0 else ("new", "old")):
                active = patches(name)
                for p in active:
                    p.start()
                try:
                    before = server_cpu()
                    out[f"{kind}_{name}"].append(fn(size))
                    if pg:
                        out[f"{kind}_{name}_server"].append((server_cpu() - before) / size * unit)
                finally:
                    for p in active:
                        p.stop()
    # The worker's job: caught up (the old variant's rows replaced), then timed over the entries
    # of %%(index_calls)s further batch lookups (new layout) alone.
    subjects.subject_index_run()
    for p in patches("new"):
        p.start()
    batch(%(index_calls)s)
    cpu, wall, server = time.process_time(), time.perf_counter(), server_cpu()
    run = subjects.subject_index_run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    server = server_cpu() - server
    if pg:
        out["index_server_us"] = [server / max(run.subjects, 1) * 1e6]
    out["index_subjects"] = run.subjects
    out["index_cpu_us"] = [cpu / max(run.subjects, 1) * 1e6]
    out["index_wall_us"] = [wall / max(run.subjects, 1) * 1e6]
    print("indexed", run, "from", first, file=sys.stderr)
    print(json.dumps(out))
    """
)


def main() -> None:
    rounds = os.environ.get("BENCH_ROUNDS", "8")
    block = os.environ.get("BENCH_BLOCK", "4")
    prefill = os.environ.get("BENCH_PREFILL", "500000")
    results: dict[str, dict] = {}
    for backend in lookup.BACKENDS:
        env = lookup.prepare(backend)
        if env is None:
            continue
        info = lookup.setup_grant(env)
        info_file = lookup.OUT / f"subject-ab-{backend}.json"
        info_file.write_text(json.dumps(info))
        code = CHILD % {
            "dataset": lookup.DATASET,
            "permission": lookup.PERMISSION,
            "index_calls": int(os.environ.get("BENCH_INDEX_CALLS", "30")),
        }
        out = subprocess.run(
            [sys.executable, "-c", code, str(info_file), rounds, block, prefill],
            env={**env, "PYTHONPATH": str(lookup.ROOT)}, cwd=lookup.ROOT, check=True,
            stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        results[backend] = json.loads(out.strip().splitlines()[-1])
    load = os.getloadavg()[0]
    print(f"\nsubject layout A/B in-process, {lookup.PERSONS:,} persons, {prefill} index rows "
          f"first; median (min) of {rounds} blocks, load average {load:.1f}")  # fmt: skip
    parts = []
    for backend, variants in results.items():
        for name, values in variants.items():
            if not isinstance(values, list):
                print(f"{backend:<9} {name:<16} {values}")
                continue
            values = sorted(values)
            median = values[len(values) // 2]
            print(f"{backend:<9} {name:<16} {median:8.1f} ({values[0]:.1f})")
            parts.append(f"{backend}_{name}={median:.1f}")
    print("RESULT subject_index_ab " + " ".join(parts))


if __name__ == "__main__":
    main()
