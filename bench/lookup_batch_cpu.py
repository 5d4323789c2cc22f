"""`make bench-lookup-batch-cpu`: CPU time per batch lookup (``POST …/lookup``, 1,000 random
existing personal codes per call) in-process — DAGR's WSGI application called directly, the
code before the batch lookup was made fast (``tests/retrieval/lookup_reference.py``, the
per-value ``subject_hash``, the regex personal-code check) and each change added in turn,
alternating in blocks in ONE process over the same database (``time.process_time``, median and
min of the blocks). Same database and grant as `make bench-lookup` (``bench/lookup.py``'s steps).

    BENCH_PERSONS=50000 BENCH_ROUNDS=8 BENCH_BLOCK=4 make bench-lookup-batch-cpu

Ends with ``RESULT lookup_batch_cpu <backend>_<variant>_ms=…`` (median CPU ms per call).
Every call adds an access entry with ~1,000 subjects: on SQLite the audit write grows with them
(``docs/performance.md``, "Batch lookup").
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
    import io, json, random, re, sys, time
    from datetime import date
    from unittest import mock
    import django
    django.setup()
    from dagr.audit import access as audit
    from dagr.connections.models import Connection
    from dagr.connections.tokens import token_encode
    from dagr.core import identifiers
    from dagr.retrieval import services
    from tests.retrieval import lookup_reference
    info = json.loads(open(sys.argv[1]).read())
    rounds, block = int(sys.argv[2]), int(sys.argv[3])
    conn = Connection.objects.get(client_id=info["client_id"])
    bearer, _ = token_encode(connection_id=conn.pk, client_id=conn.client_id,
                             institution_id=conn.institution_id, kind=conn.kind, lifetime_s=3600)
    from config.wsgi import application

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    def environ(body):
        return {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/data/%(dataset)s/lookup",
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

    def old_hashes(values):
        return sorted({audit.subject_hash(v) for v in set(values) if v not in (None, "")})

    def old_check(first_ten):
        total = sum(w * int(d) for w, d in zip(identifiers._PERSON_WEIGHTS, first_ten, strict=True))
        return str((1101 - total) %% 11 %% 10)

    eleven, new_format = re.compile(r"\\d{11}"), re.compile(r"^3[2-9]\\d{9}$")

    def old_valid(value):
        number = identifiers.compact(value)
        if not eleven.fullmatch(number):
            return False
        if new_format.match(number):
            return True
        if number[0] > "3" or number[6] not in "012":
            return False
        if old_check(number[:10]) != number[10]:
            return False
        try:
            date(1800 + 100 * int(number[6]) + int(number[4:6]), int(number[2:4]), int(number[:2]))
        except ValueError:
            return False
        return True

    variants = {"old": ["service", "hashes", "check"], "service": ["hashes", "check"],
                "hashes": ["check"], "new": []}

    def patches(names):
        out = []
        if "service" in names:
            reference = lookup_reference.records_lookup
            out.append(mock.patch.object(services, "records_lookup", reference))
        if "hashes" in names:
            out.append(mock.patch.object(audit, "subject_hashes", old_hashes))
        if "check" in names:
            out.append(mock.patch.dict(identifiers.VALIDATORS, {"personal_code": old_valid}))
        return out

    calls = [0]

    def measure(count):
        started = time.process_time()
        for _ in range(count):
            body = b"".join(application(environ(bodies[calls[0] %% len(bodies)]), start_response))
            calls[0] += 1
            if not start_response.status.startswith("200"):
                raise SystemExit(body[:500])
        return (time.process_time() - started) / count * 1e3

    measure(2)
    out = {name: [] for name in variants}
    for r in range(rounds):
        for name in (list(variants) if r %% 2 == 0 else list(reversed(variants))):
            active = patches(variants[name])
            for p in active:
                p.start()
            try:
                out[name].append(measure(block))
            finally:
                for p in active:
                    p.stop()
    print(json.dumps(out))
    """
)


def main() -> None:
    rounds = os.environ.get("BENCH_ROUNDS", "8")
    block = os.environ.get("BENCH_BLOCK", "4")
    results: dict[str, dict[str, list[float]]] = {}
    for backend in lookup.BACKENDS:
        env = lookup.prepare(backend)
        if env is None:
            continue
        info = lookup.setup_grant(env)
        info_file = lookup.OUT / f"batch-cpu-{backend}.json"
        info_file.write_text(json.dumps(info))
        code = CHILD % {"dataset": lookup.DATASET, "permission": lookup.PERMISSION}
        out = subprocess.run(
            [sys.executable, "-c", code, str(info_file), rounds, block],
            env={**env, "PYTHONPATH": str(lookup.ROOT)}, cwd=lookup.ROOT, check=True,
            stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        results[backend] = json.loads(out.strip().splitlines()[-1])
    load = os.getloadavg()[0]
    print(f"\nCPU ms per batch lookup of 1,000 ids in-process, {lookup.PERSONS:,} persons; "
          f"median (min) of {rounds} blocks of {block}, load average {load:.1f}")  # fmt: skip
    parts = []
    for backend, variants in results.items():
        for name, values in variants.items():
            values = sorted(values)
            median = values[len(values) // 2]
            print(f"{backend:<9} {name:<8} {median:8.1f} ({values[0]:.1f})")
            parts.append(f"{backend}_{name}_ms={median:.1f}")
    print("RESULT lookup_batch_cpu " + " ".join(parts))


if __name__ == "__main__":
    main()
