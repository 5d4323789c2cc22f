"""CPU A/B of the GET-by-identifier changes of 7 December, evening (``docs/performance.md``,
"GET-by-identifier: CPU per request"): DAGR's WSGI application called in-process as in
``bench/lookup_cpu.py`` (each answer closed as a WSGI server closes it), the current code
("new") against the code before, restored by patching one change back at a time ("-sql",
"-date", "-metrics") and all of them ("old"). The variants alternate in blocks of
``BENCH_BLOCK`` requests, ``BENCH_ROUNDS`` rounds, the order reversed every round, all in ONE
process over the same database; ``time.process_time`` per block. Same database, grant and keys as
`make bench-lookup` (``bench/lookup.py``'s steps; SQLite unless ``BENCH_BACKENDS`` says otherwise).

    BENCH_PERSONS=50000 BENCH_ROUNDS=40 BENCH_BLOCK=150 .venv/bin/python bench/lookup_get_ab.py

Prints, per variant, the median CPU µs per request and the median of its paired difference to
"new" in the same round; ends with ``RESULT lookup_get_ab <backend>_<variant>_us=…``.
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
    import io, json, random, statistics, sys, time
    from unittest import mock
    import django
    django.setup()
    from django.db import connection
    from dagr.connections.models import Connection
    from dagr.connections.tokens import token_encode
    from dagr.core.db.prepared import fetch_prepared
    from dagr.dashboard import metrics
    from dagr.grants.selectors import grant_active_for
    from dagr.records import queries
    from dagr.retrieval import access
    from dagr.retrieval.datasets import dataset_for_retrieval
    import config.wsgi
    from config.wsgi import application

    info = json.loads(open(sys.argv[1]).read())
    rounds, block = int(sys.argv[2]), int(sys.argv[3])
    conn = Connection.objects.get(client_id=info["client_id"])
    bearer, _ = token_encode(connection_id=conn.pk, client_id=conn.client_id,
                             institution_id=conn.institution_id, kind=conn.kind, lifetime_s=3600)

    # --- the code before each change ---
    def old_records_by_identifier(*, dataset_id, path, key_path, value, where, params,
                                  limit=1000):
        # Django's cursor on SQLite (``fetch_prepared``'s fallback), the ``connection`` proxy
        if path == key_path:
            sql = ("SELECT r.id, r.data FROM records_record r "
                   f"WHERE r.dataset_id = %%s AND r.key = %%s AND r.deleted_at IS NULL "
                   f"AND ({where})")
            rows = fetch_prepared(connection, sql, [dataset_id, value, *params])
        else:
            sql = ("SELECT r.id, r.data FROM records_recordidentifier i "
                   "JOIN records_record r ON r.id = i.record_id "
                   "WHERE i.dataset_id = %%s AND i.path = %%s AND i.value = %%s "
                   f"AND r.deleted_at IS NULL AND ({where}) ORDER BY r.id LIMIT %%s")
            rows = fetch_prepared(connection, sql, [dataset_id, path, value, *params, limit])
        return [(pk, queries._data(data)) for pk, data in rows]

    def old_resolve(self):  # the grant's validity judged on a second ``localdate()``
        self.dataset = dataset_for_retrieval(self.code)
        self.grant = grant_active_for(institution_id=self.caller.institution_id,
                                      dataset_id=self.dataset.id,
                                      permission_number=self.permission_number)
        return self.dataset, self.grant

    def old_request_count(route, method, status, started):
        metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
        metrics.HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)

    OLD = {
        "sql": (queries, "records_by_identifier", old_records_by_identifier),
        "date": (access._Access, "resolve", old_resolve),
        "metrics": (config.wsgi, "request_count", old_request_count),
    }
    VARIANTS = {"new": [], "old": list(OLD)} | {"-" + k: [k] for k in OLD}

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    def environ(key):
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": f"/api/v1/data/%(dataset)s/records/personal_code/{key}",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr, "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Bearer {bearer}", "HTTP_X_PERMISSION_NUMBER": %(permission)r,
            "REMOTE_ADDR": "127.0.0.1",
        }

    rng = random.Random(3)
    keys = info["keys"]

    def measure(name, count):
        patches = [mock.patch.object(*OLD[k]) for k in VARIANTS[name]]
        for p in patches:
            p.start()
        envs = [environ(rng.choice(keys)) for _ in range(count)]
        try:
            started = time.process_time()
            for env in envs:
                result = application(env, start_response)
                b"".join(result)
                result.close()  # as a WSGI server does: request_finished
                if not start_response.status.startswith("200"):
                    raise SystemExit(f"{name}: {start_response.status}")
            return (time.process_time() - started) / count * 1e6
        finally:
            for p in patches:
                p.stop()

    names = list(VARIANTS)
    for name in names:
        measure(name, 300)  # warm-up
    samples = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r %% 2 == 0 else names[::-1]:
            samples[name].append(measure(name, block))
    out = {}
    for name in names:
        diff = [a - b for a, b in zip(samples[name], samples["new"])]
        out[name] = (statistics.median(samples[name]), statistics.median(diff))
    print(json.dumps(out))
    """
)


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "40"))
    block = int(os.environ.get("BENCH_BLOCK", "150"))
    backends = [b for b in lookup.BACKENDS if "BENCH_BACKENDS" in os.environ or b == "sqlite"]
    parts = []
    for backend in backends:
        env = lookup.prepare(backend)
        if env is None:
            continue
        info = lookup.setup_grant(env)
        info["keys"] = info["keys"][:50000]
        info_file = lookup.OUT / f"get-ab-{backend}.json"
        info_file.write_text(json.dumps(info))
        code = CHILD % {"dataset": lookup.DATASET, "permission": lookup.PERMISSION}
        out = subprocess.run(
            [sys.executable, "-c", code, str(info_file), str(rounds), str(block)],
            env={**env, "PYTHONPATH": str(lookup.ROOT)}, cwd=lookup.ROOT, check=True,
            stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        print(f"\n{backend}: CPU µs per GET-by-identifier, {rounds} rounds × {block} requests")
        for name, (median, diff) in result.items():
            print(f"  {name:<10} median {median:7.1f}   paired difference to new {diff:+7.1f}")
            parts.append(f"{backend}_{name.replace('-', 'without_')}_us={median:.0f}")
    print("RESULT lookup_get_ab " + " ".join(parts))


if __name__ == "__main__":
    main()
