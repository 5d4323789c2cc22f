"""CPU A/B of the GET-by-identifier hot path: DAGR's WSGI application called in-process as in
``bench/lookup_cpu.py`` (each answer closed as a WSGI server closes it), the current code ("new")
against the access audit (``dagr/audit/access.py`` with the digest and key functions of
``dagr/audit/chains.py``) as it was at each git revision of ``BENCH_AB_REVS`` (default ``main``;
comma-separated, e.g. ``main,HEAD~1``): those files' text at the revision is loaded as modules of
their own and put in the place of ``dagr.retrieval.access.audit`` for the variant's blocks (its
own chain segment; everything else is the current code). The
variants alternate in blocks of ``BENCH_BLOCK`` requests, ``BENCH_ROUNDS`` rounds, the order
reversed every round, all in ONE process over the same database; ``time.process_time`` per block.
On PostgreSQL the backend's CPU (``/proc/<pid>/stat``, 10 ms ticks, summed over all rounds) is
reported too. Same database, grant and keys as `make bench-lookup` (``bench/lookup.py``'s steps;
SQLite unless ``BENCH_BACKENDS`` says otherwise).

    BENCH_PERSONS=50000 BENCH_ROUNDS=40 BENCH_BLOCK=150 .venv/bin/python bench/lookup_get_ab.py

Prints, per variant, the median and min CPU µs per request and the median of its paired difference
to "new" in the same round; ends with ``RESULT lookup_get_ab <backend>_<variant>_us=…`` (the
evening of 7 December this script patched back that evening's changes instead: ``git show
d7f923c:bench/lookup_get_ab.py``).
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
    import importlib.util, io, json, os, random, statistics, sys, time
    from unittest import mock
    import django
    django.setup()
    from django.db import connection
    from dagr.connections.models import Connection
    from dagr.connections.tokens import token_encode
    from dagr.retrieval import access
    from config.wsgi import application

    info = json.loads(open(sys.argv[1]).read())
    rounds, block = int(sys.argv[2]), int(sys.argv[3])
    sources = json.loads(sys.argv[4])  # revision -> text of dagr/audit/access.py
    conn = Connection.objects.get(client_id=info["client_id"])
    bearer, _ = token_encode(connection_id=conn.pk, client_id=conn.client_id,
                             institution_id=conn.institution_id, kind=conn.kind, lifetime_s=3600)

    import dagr.audit.chains

    def load(rev, path, text):
        # a module of the package dagr.audit (its relative imports are the current modules)
        name = "dagr.audit._at_" + "".join(c if c.isalnum() else "_" for c in rev + path)
        spec = importlib.util.spec_from_loader(name, loader=None)
        module = importlib.util.module_from_spec(spec)
        module.__package__ = "dagr.audit"
        sys.modules[name] = module
        exec(compile(text, f"<{rev}:{path}>", "exec"), module.__dict__)
        return module

    def audit_at(rev, texts):
        # access.py at the revision, with the chain functions of chains.py at the revision
        chains = load(rev, "dagr/audit/chains.py", texts["dagr/audit/chains.py"])
        module = load(rev, "dagr/audit/access.py", texts["dagr/audit/access.py"])
        for name, value in list(module.__dict__.items()):
            if getattr(dagr.audit.chains, name, None) is value and hasattr(chains, name):
                setattr(module, name, getattr(chains, name))
        return module

    VARIANTS = {"new": []} | {
        rev: [(access, "audit", audit_at(rev, texts))] for rev, texts in sources.items()
    }

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
    backend_pid = None

    def backend_ticks():
        if backend_pid is None:
            return 0
        fields = open(f"/proc/{backend_pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def measure(name, count):
        patches = [mock.patch.object(*p) for p in VARIANTS[name]]
        for p in patches:
            p.start()
        envs = [environ(rng.choice(keys)) for _ in range(count)]
        try:
            ticks = backend_ticks()
            started = time.process_time()
            for env in envs:
                result = application(env, start_response)
                b"".join(result)
                result.close()  # as a WSGI server does: request_finished
                if not start_response.status.startswith("200"):
                    raise SystemExit(f"{name}: {start_response.status}")
            return (time.process_time() - started) / count * 1e6, backend_ticks() - ticks
        finally:
            for p in patches:
                p.stop()

    names = list(VARIANTS)
    for name in names:
        measure(name, 300)  # warm-up
    if connection.vendor == "postgresql":
        pid = connection.connection.info.backend_pid
        if os.path.exists(f"/proc/{pid}/stat"):  # a server on this machine
            backend_pid = pid
    samples = {name: [] for name in names}
    ticks = {name: 0 for name in names}
    for r in range(rounds):
        for name in names if r %% 2 == 0 else names[::-1]:
            us, t = measure(name, block)
            samples[name].append(us)
            ticks[name] += t
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for name in names:
        diff = [a - b for a, b in zip(samples[name], samples["new"])]
        backend = ticks[name] / hz / (rounds * block) * 1e6 if backend_pid else None
        out[name] = (statistics.median(samples[name]), min(samples[name]),
                     statistics.median(diff), backend)
    print(json.dumps(out))
    """
)


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "40"))
    block = int(os.environ.get("BENCH_BLOCK", "150"))
    backends = [b for b in lookup.BACKENDS if "BENCH_BACKENDS" in os.environ or b == "sqlite"]
    revs = [r for r in os.environ.get("BENCH_AB_REVS", "main").split(",") if r]
    sources = json.dumps({
        rev: {
            path: subprocess.run(
                ["git", "show", f"{rev}:{path}"], cwd=lookup.ROOT, check=True,
                stdout=subprocess.PIPE, text=True,
            ).stdout
            for path in ("dagr/audit/access.py", "dagr/audit/chains.py")
        }
        for rev in revs
    })  # fmt: skip
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
            [sys.executable, "-c", code, str(info_file), str(rounds), str(block), sources],
            env={**env, "PYTHONPATH": str(lookup.ROOT)}, cwd=lookup.ROOT, check=True,
            stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        print(f"\n{backend}: CPU µs per GET-by-identifier, {rounds} rounds × {block} requests")
        for name, (median, low, diff, server) in result.items():
            label = "".join(c if c.isalnum() else "_" for c in name)
            line = (
                f"  {name:<10} median {median:7.1f}  min {low:7.1f}  "
                f"paired difference to new {diff:+7.1f}"
            )
            parts.append(f"{backend}_{label}_us={median:.0f} {backend}_{label}_min_us={low:.0f}")
            if server is not None:
                line += f"  database backend {server:7.1f}"
                parts.append(f"{backend}_{label}_backend_us={server:.0f}")
            print(line)
    print("RESULT lookup_get_ab " + " ".join(parts))


if __name__ == "__main__":
    main()
