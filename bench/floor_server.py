"""The floor of `make bench-lookup`: the least a server can do for DAGR's GET-by-identifier with
the same guarantees — not part of the product. Raw WSGI under the same granian settings, over
the same database and records:

- verify the same HS256 JWT (same key, issuer, required claims; a token verified once is
  recognised by its text, as DAGR does, then only its expiry is checked);
- one indexed SELECT with the grant's conditions as DAGR compiles them (the SQL fragment is made
  once at start-up by ``ActiveGrant.where``);
- project the grant's fields;
- write the same access audit row (every column, the keyed subject hash packed in it, the keyed
  chain digest, the segment head) and COMMIT before answering (SQLite: one IMMEDIATE
  transaction; PostgreSQL: one statement in autocommit); the subject index is the worker's;
- orjson out.

Django is set up once at import only to read the keys and the grant; the request path uses the
database driver (sqlite3 / psycopg) directly. Configured by the environment the bench sets:
DATABASE_URL, FLOOR_DATASET, FLOOR_PERMISSION, FLOOR_INSTITUTION.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import jwt  # noqa: E402
import orjson  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection as django_connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from dagr.audit.chains import ACCESS_COLUMNS, GENESIS, VERSION, access_digest  # noqa: E402
from dagr.catalog.models import Dataset  # noqa: E402
from dagr.grants.cache import grant_cache  # noqa: E402

PREFIX = "/api/v1/data/"
DATASET = os.environ["FLOOR_DATASET"]
PERMISSION = os.environ["FLOOR_PERMISSION"]
INSTITUTION = int(os.environ["FLOOR_INSTITUTION"])
VENDOR = django_connection.vendor
DB = settings.DATABASES["default"]

_dataset = Dataset.objects.get(code=DATASET)
_grant = grant_cache.get(INSTITUTION, _dataset.pk, PERMISSION)
assert _grant is not None, "the bench grant is missing"
DATASET_ID = _dataset.pk
FIELDS = list(_grant.fields)
WHERE, WHERE_PARAMS = _grant.where(column="r.data", today=timezone.localdate())
SIGNING_KEY = hmac.new(
    settings.SECRET_KEY.encode(), b"dagr.access-token.v1", hashlib.sha256
).digest()
SUBJECT_KEY = settings.AUDIT_SUBJECT_KEY.encode()
CHAIN_KEY = settings.AUDIT_CHAIN_KEY.encode()
django_connection.close()

PH = "?" if VENDOR == "sqlite" else "%s"
SELECT = (  # noqa: S608 - trusted fragments
    "SELECT r.data FROM records_record r WHERE r.dataset_id = {p} AND r.key = {p} "
    "AND r.deleted_at IS NULL AND ({w})"
).format(p=PH, w=WHERE.replace("%s", PH))  # fmt: skip
COLUMNS = (*ACCESS_COLUMNS, "prev_hash", "entry_hash", "subject_hashes")
INSERT_ENTRY = "INSERT INTO audit_accessentry ({}) VALUES ({}) RETURNING id".format(  # noqa: S608
    ", ".join(COLUMNS),
    ", ".join(PH + ("::jsonb" if c == "fields" and PH == "%s" else "") for c in COLUMNS),
)

_local = threading.local()
_verified: dict[str, tuple[int, int, str, int]] = {}
_segment = {"name": f"floor-{uuid.uuid4().hex[:10]}-{os.getpid()}", "seq": 0, "hash": GENESIS}
_segment_lock = threading.Lock()


def _db() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        if VENDOR == "sqlite":
            import sqlite3

            conn = sqlite3.connect(DB["NAME"], isolation_level=None, check_same_thread=False)
            # DAGR's own connection settings (WAL, synchronous=NORMAL, the checkpoint regime:
            # the bench runs the worker's checkpoint job beside both servers)
            conn.executescript(settings.DAGR_SQLITE_OPTIONS["init_command"])
        else:
            import psycopg

            conn = psycopg.connect(
                dbname=DB["NAME"], user=DB["USER"], host=DB["HOST"], port=DB["PORT"] or 5432,
                password=DB["PASSWORD"] or None, autocommit=True,
            )  # fmt: skip
            from psycopg.types.string import TextLoader

            conn.adapters.register_loader("jsonb", TextLoader)  # decoded by orjson, as Django
        _local.conn = conn
    return conn


def _principal(environ: dict[str, Any]) -> tuple[int, int, str, int] | None:
    scheme, _sep, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    cached = _verified.get(token)
    if cached is None:
        try:
            claims = jwt.decode(
                token, SIGNING_KEY, algorithms=["HS256"], issuer="dagr", leeway=5,
                options={"require": ["exp", "iat", "sub", "jti"]},
            )  # fmt: skip
        except jwt.PyJWTError:
            return None
        connection_id = int(str(claims["sub"]).removeprefix("connection:"))
        cached = (int(claims["ins"]), int(claims["exp"]), claims["cid"], connection_id)
        _verified[token] = cached
    if cached[1] + 5 < time.time():
        return None
    return cached


def _audit(conn: Any, values: dict[str, Any], subjects: list[bytes]) -> None:
    """The entry (its subjects packed in its row, as DAGR writes it; the subject index is the
    worker's) and the segment head, committed before the answer."""
    with _segment_lock:
        values["segment"], values["segment_seq"] = _segment["name"], _segment["seq"] + 1
        content = [values[c] for c in ACCESS_COLUMNS]
        at = values["at"]
        content[0] = at.replace(tzinfo=None).isoformat(timespec="microseconds")
        digest = access_digest(CHAIN_KEY, _segment["hash"], content, subjects)
        row = [values[c] for c in ACCESS_COLUMNS] + [_segment["hash"], digest, b"".join(subjects)]
        row[COLUMNS.index("fields")] = orjson.dumps(values["fields"]).decode()
        first = values["segment_seq"] == 1
        if VENDOR == "sqlite":
            row[0] = content[0].replace("T", " ")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(INSERT_ENTRY, row).fetchone()
                if first:
                    conn.execute(
                        "INSERT INTO audit_accesssegment (segment, started_at, last_seq, "
                        "last_hash) VALUES (?, ?, ?, ?)",
                        [values["segment"], row[0], 1, digest],
                    )
                else:
                    conn.execute(
                        "UPDATE audit_accesssegment SET last_seq = ?, last_hash = ? "
                        "WHERE segment = ?",
                        [values["segment_seq"], digest, values["segment"]],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        else:
            head = (
                "INSERT INTO audit_accesssegment (segment, started_at, last_seq, last_hash) "
                "VALUES (%s, %s, %s, %s)"
                if first
                else "UPDATE audit_accesssegment SET last_seq = %s, last_hash = %s "
                "WHERE segment = %s"
            )
            head_params = (
                [values["segment"], at, 1, digest]
                if first
                else [values["segment_seq"], digest, values["segment"]]
            )
            conn.execute(
                f"WITH e AS ({INSERT_ENTRY}), h AS ({head} RETURNING 1) SELECT id FROM e",  # noqa: S608
                [*row, *head_params],
            ).fetchone()
        _segment["seq"], _segment["hash"] = values["segment_seq"], digest


def _answer(start_response: Any, status: str, body: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    started = time.perf_counter()
    path = environ.get("PATH_INFO", "")
    # /api/v1/data/<dataset>/records/personal_code/<value>
    parts = path[len(PREFIX) :].split("/") if path.startswith(PREFIX) else []
    if len(parts) != 4 or parts[0] != DATASET or parts[1] != "records":
        return _answer(start_response, "404 Not Found", b'{"code":"not_found"}')
    principal = _principal(environ)
    if principal is None:
        return _answer(start_response, "401 Unauthorized", b'{"code":"not_authenticated"}')
    if environ.get("HTTP_X_PERMISSION_NUMBER") != PERMISSION or principal[0] != INSTITUTION:
        return _answer(start_response, "403 Forbidden", b'{"code":"grant_missing"}')
    value = parts[3].strip()
    conn = _db()
    found = conn.execute(SELECT, [DATASET_ID, value, *WHERE_PARAMS]).fetchone()
    data = orjson.loads(found[0]) if found else None
    records = [{f: data[f] for f in FIELDS if f in data}] if data else []
    subject = value.replace(" ", "").replace("-", "").upper()
    values = {
        "at": datetime.now(UTC), "request_id": uuid.uuid4().hex, "institution_id": INSTITUTION,
        "connection_id": principal[3], "user_id": None, "actor_label": principal[2],
        "dataset_id": DATASET_ID, "dataset_code": DATASET, "grant_id": _grant.id,
        "permission_number": PERMISSION, "operation": "record.get", "purpose": "",
        "identifiers_asked": 1, "records_returned": len(records),
        "fields": FIELDS if records else [], "outcome": "ok" if records else "not_found",
        "status_code": 200 if records else 404,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3), "version": VERSION,
    }  # fmt: skip
    try:
        _audit(conn, values, [hmac.digest(SUBJECT_KEY, subject.encode(), "sha256")[:16]])
    except Exception:
        if os.environ.get("FLOOR_DEBUG"):
            raise
        return _answer(start_response, "503 Service Unavailable", b'{"code":"audit_unavailable"}')
    if not records:
        return _answer(start_response, "404 Not Found", b'{"code":"record_not_found"}')
    return _answer(start_response, "200 OK", orjson.dumps({"records": records}))
