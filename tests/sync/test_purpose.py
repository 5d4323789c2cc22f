"""A purpose in Latvian travels from ``sync.yaml`` to DAGR's access audit exactly (the connector
percent-encodes it; issue #10), and the server reads raw UTF-8 header bytes over a real socket
by the same rule (``dagr.core.purpose``)."""

from __future__ import annotations

import http.client
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml

from tests.sync.conftest import Server, subprocess_env
from tests.sync.test_sync import ROOT, expected, target_rows

pytestmark = pytest.mark.django_db(transaction=True)
LATVIAN = "Nodokļu administrēšana"


def feed_purposes() -> list[str]:
    from dagr.audit.models import AccessEntry

    return list(
        AccessEntry.objects.filter(operation="record.changes")
        .order_by("id")
        .values_list("purpose", flat=True)
    )


@pytest.mark.parametrize("target_url", ["sqlite"], indirect=True)
def test_dagr_sync_with_a_latvian_purpose(server: Server, target_url: str, tmp_path: Path) -> None:
    config = server.config(target_url, table="companies", page_size=7)
    config["dagr"]["purpose"] = LATVIAN
    path = tmp_path / "sync.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert LATVIAN in path.read_text(encoding="utf-8")

    command = [sys.executable, "-m", "dagr.cli", "sync", "--config", str(path)]
    env = subprocess_env(server.secret)
    finished = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert finished.returncode == 0, finished.stderr.decode()
    assert "Traceback" not in finished.stderr.decode()
    assert target_rows(target_url) == expected(server)
    purposes = feed_purposes()
    assert len(purposes) >= 3  # 20 records, pages of 7
    assert set(purposes) == {LATVIAN}


def _get(server: Server, purpose: bytes) -> tuple[int, bytes]:
    from tests.retrieval.factories import token_for

    url = urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.putrequest("GET", f"/api/v1/data/{server.world.dataset.code}/changes?limit=5")
        conn.putheader("Authorization", f"Bearer {token_for(server.world.connection)}")
        conn.putheader("X-Permission-Number", "ATL-1")
        conn.putheader("X-Purpose", purpose)  # bytes: sent as they are
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_header_bytes_over_a_real_socket(server: Server) -> None:
    status, body = _get(server, quote(LATVIAN, safe="").encode("ascii"))
    assert status == 200, body
    status, body = _get(server, LATVIAN.encode("utf-8"))  # raw UTF-8: accepted
    assert status == 200, body
    assert feed_purposes() == [LATVIAN, LATVIAN]

    for refused in (b"%E2%82", "Tiesību aktu izpilde".encode("cp1257")):
        status, body = _get(server, refused)
        assert status == 400, body
        assert b'"invalid_purpose"' in body
    assert feed_purposes() == [LATVIAN, LATVIAN]  # nothing audited, certainly not as empty
