"""SQLite's WAL through the real server: the web processes' commits leave checkpoints to the
worker's job (``dagr.core.db.sqlite.checkpoint``), which copies what they wrote into the database
file while ``dagr serve`` runs — several processes, as in production."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from tests.e2e import data

pytestmark = pytest.mark.e2e


def entries(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM audit_accessentry").fetchone()[0])


def test_the_worker_copies_the_requests_writes_into_the_database_file(dagr_server, tmp_path):
    if not dagr_server.database_url.startswith("sqlite:"):
        pytest.skip("a WAL is SQLite's; the PostgreSQL run has none")
    database = Path("/" + dagr_server.database_url.removeprefix("sqlite:").lstrip("/"))
    person = data.persons(data.LOOKUP_PERSONS, serial=900_000)[3]
    path = f"/api/v1/data/{data.LOOKUP}/records/personal_code/{person['personal_code']}"
    headers = {"X-Permission-Number": data.GRANTS[data.LOOKUP]}
    for _ in range(40):
        answer = dagr_server.request("GET", path, token="recipient", headers=headers)
        assert answer.status == 200, answer.body
    written = entries(database)  # the database with its WAL: every committed entry
    alone = tmp_path / "alone.sqlite3"
    in_file = -1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shutil.copyfile(database, alone)  # the database file without its WAL
        try:
            in_file = entries(alone)
        except sqlite3.DatabaseError:  # copied while a checkpoint wrote it: look again
            in_file = -1
        if in_file >= written:
            break
        time.sleep(0.5)
    assert in_file >= written, (in_file, written)
