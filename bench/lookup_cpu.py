"""`make bench-lookup-cpu`: CPU time per GET-by-identifier in-process — DAGR's WSGI application
and the floor server (``bench/floor_server.py``) called directly with a WSGI environ, no HTTP
server and no load tool, so the figure is the server's own work (``time.process_time``), steady
even when other programs share the cores. Same database, grant and keys as `make bench-lookup`
(prepared by it: ``bench/lookup.py``'s steps). Each answer is closed as a WSGI server closes
it (Django sends ``request_finished`` then: ~10–30 µs of DAGR's CPU that runs before 7 December,
evening, left out).

    BENCH_PERSONS=1000000 BENCH_CPU_N=20000 make bench-lookup-cpu

``BENCH_PROFILE=1`` also prints the cProfile top 30 (by own time) of DAGR's requests;
``BENCH_BACKENDS`` as for the lookup bench. Ends with
``RESULT lookup_cpu sqlite_dagr_us=… sqlite_floor_us=… postgres_dagr_us=… postgres_floor_us=…``.
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

N = int(os.environ.get("BENCH_CPU_N", "20000"))

CHILD = textwrap.dedent(
    """
    import cProfile, io, json, os, pstats, random, sys, time
    import django
    django.setup()
    from dagr.connections.models import Connection
    from dagr.connections.tokens import token_encode
    info = json.loads(open(sys.argv[1]).read())
    conn = Connection.objects.get(client_id=info["client_id"])
    bearer, _ = token_encode(connection_id=conn.pk, client_id=conn.client_id,
                             institution_id=conn.institution_id, kind=conn.kind, lifetime_s=3600)
    os.environ.update(FLOOR_DATASET=%(dataset)r, FLOOR_PERMISSION=%(permission)r,
                      FLOOR_INSTITUTION=str(info["institution_id"]))
    from config.wsgi import application as dagr_app
    from bench.floor_server import application as floor_app
    keys = info["keys"]
    n = int(sys.argv[2])

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

    def measure(app, count):
        rng = random.Random(3)
        bad = 0
        started = time.process_time()
        for _ in range(count):
            result = app(environ(rng.choice(keys)), start_response)
            body = b"".join(result)
            if hasattr(result, "close"):  # as a WSGI server does: Django's request_finished
                result.close()
            if not start_response.status.startswith("200"):
                bad += 1
        return (time.process_time() - started) / count * 1e6, bad

    out = {}
    for name, app in (("dagr", dagr_app), ("floor", floor_app)):
        measure(app, 500)  # warm-up
    for name, app in (("floor", floor_app), ("dagr", dagr_app), ("floor2", floor_app)):
        out[name], out[name + "_bad"] = measure(app, n)
    if os.environ.get("BENCH_PROFILE"):
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        measure(dagr_app, n // 4)
        profile.disable()
        text = io.StringIO()
        order = os.environ.get("BENCH_PROFILE_SORT", "tottime")
        pstats.Stats(profile, stream=text).sort_stats(order).print_stats(45)
        print(text.getvalue(), file=sys.stderr)
    print(json.dumps(out))
    """
)


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    for backend in lookup.BACKENDS:
        env = lookup.prepare(backend)
        if env is None:
            continue
        info = lookup.setup_grant(env)
        info["keys"] = info["keys"][:50000]
        info_file = lookup.OUT / f"cpu-{backend}.json"
        info_file.write_text(json.dumps(info))
        code = CHILD % {"dataset": lookup.DATASET, "permission": lookup.PERMISSION}
        out = subprocess.run(
            [sys.executable, "-c", code, str(info_file), str(N)],
            env={**env, "PYTHONPATH": str(lookup.ROOT)}, cwd=lookup.ROOT, check=True,
            stdout=subprocess.PIPE, text=True,
        ).stdout  # fmt: skip
        results[backend] = json.loads(out.strip().splitlines()[-1])
    print()
    print(
        f"CPU µs per GET-by-identifier in-process, {N:,} requests each, {lookup.PERSONS:,} persons"
    )
    print("{:<9} {:>10} {:>10} {:>10} {:>8}".format("backend", "floor", "DAGR", "floor", "×floor"))
    for backend, r in results.items():
        floor = (r["floor"] + r["floor2"]) / 2
        print(f"{backend:<9} {r['floor']:>10.0f} {r['dagr']:>10.0f} {r['floor2']:>10.0f} "
              f"{floor / r['dagr']:>8.2f}")  # fmt: skip
        if r["dagr_bad"] or r["floor_bad"]:
            raise SystemExit(f"{backend}: non-200 answers {r}")
    parts = []
    for backend, r in results.items():
        floor = (r["floor"] + r["floor2"]) / 2
        parts.append(f"{backend}_dagr_us={r['dagr']:.0f} {backend}_floor_us={floor:.0f}")
    print("RESULT lookup_cpu " + " ".join(parts))


if __name__ == "__main__":
    main()
