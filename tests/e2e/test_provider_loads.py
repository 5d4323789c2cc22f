"""Provider loads through the real server: JSON, NDJSON with and without Content-Length, a large
NDJSON body, a body cut off mid-way, and snapshots (issue #10)."""

from __future__ import annotations

import json
import socket
import sys
import time

import orjson
import pytest

from tests.e2e import data

pytestmark = pytest.mark.e2e

NDJSON_TYPE = "application/x-ndjson"


def ndjson(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def records_url(code: str, query: str = "") -> str:
    return f"/api/v1/provider/datasets/{code}/records{query}"


def test_json_array_load(dagr_server):
    records = data.persons(25)
    answer = dagr_server.request(
        "POST", records_url(data.JSON), token="provider", json_body=records
    )
    assert answer.status == 200, answer.body
    load = answer.json()
    assert (load["status"], load["received"], load["created"]) == ("succeeded", 25, 0 + 25)
    assert dagr_server.live_records(data.JSON) == 25
    # the same data again: idempotent
    again = dagr_server.request("POST", records_url(data.JSON), token="provider", json_body=records)
    assert (again.json()["received"], again.json()["unchanged"]) == (25, 25)


def test_ndjson_with_content_length_loads_every_line(dagr_server):
    body = ndjson(data.persons(40, serial=1000))
    answer = dagr_server.request(
        "POST",
        records_url(data.NDJSON),
        token="provider",
        body=body,
        headers={"Content-Type": NDJSON_TYPE},
    )
    assert answer.status == 200, answer.body
    load = answer.json()
    assert (load["status"], load["received"], load["created"]) == ("succeeded", 40, 40)
    assert dagr_server.live_records(data.NDJSON) == 40


def test_ndjson_malformed_second_line_is_refused_and_writes_nothing(dagr_server):
    first, _second, third = (ndjson([r]) for r in data.persons(3, serial=2000))
    body = first + b'{"personal_code": "32000000019", "last_name": \n' + third
    answer = dagr_server.request(
        "POST",
        records_url(data.NDJSON_BAD),
        token="provider",
        body=body,
        headers={"Content-Type": NDJSON_TYPE},
    )
    assert answer.status == 422, answer.body
    assert answer.content_type == "application/problem+json"
    problem = answer.json()
    assert [(e["position"], e["code"]) for e in problem["errors"]] == [(2, "invalid_json")]
    assert dagr_server.live_records(data.NDJSON_BAD) == 0


def odd_chunks(body: bytes) -> list[bytes]:
    """Pieces of 1, 2, 3, 5, 7, 11, 13 … 97 bytes, round and round: they split lines and the
    multi-byte UTF-8 letters of the names."""
    sizes = [1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 97]
    pieces, at, i = [], 0, 0
    while at < len(body):
        size = sizes[i % len(sizes)]
        pieces.append(body[at : at + size])
        at, i = at + size, i + 1
    return pieces


def test_ndjson_chunked_without_content_length(dagr_server):
    records = data.persons(60, serial=3000)
    body = ndjson(records)
    chunks = odd_chunks(body)
    assert any(  # at least one chunk boundary falls inside a multi-byte letter
        chunk.decode("utf-8", "ignore").encode() != chunk for chunk in chunks
    )
    answer = dagr_server.chunked(
        records_url(data.CHUNKED), chunks, token="provider", content_type=NDJSON_TYPE
    )
    assert answer.status == 200, answer.body
    load = answer.json()
    assert (load["status"], load["received"], load["created"]) == ("succeeded", 60, 60)
    assert dagr_server.live_records(data.CHUNKED) == 60
    for record in records[:9]:  # the split letters arrived whole
        found = dagr_server.request(
            "GET",
            f"/api/v1/data/{data.CHUNKED}/records/personal_code/{record['personal_code']}",
            token="recipient",
            headers={"X-Permission-Number": data.GRANTS[data.CHUNKED]},
        )
        assert found.status == 200, found.body
        assert found.json()["records"][0]["last_name"] == record["last_name"]


def test_ndjson_100k_lines(dagr_server):
    n = 100_000
    body = ndjson(data.persons(n, serial=10_000_000))
    started = time.monotonic()
    answer = dagr_server.chunked(
        records_url(data.BIG),
        (body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)),
        token="provider",
        content_type=NDJSON_TYPE,
    )
    seconds = time.monotonic() - started
    assert answer.status == 200, answer.body
    load = answer.json()
    assert (load["status"], load["received"], load["created"]) == ("succeeded", n, n)
    assert dagr_server.live_records(data.BIG) == n
    sys.stderr.write(f"\n100k NDJSON lines over HTTP: {seconds:.1f} s\n")  # printed, not asserted


def test_body_cut_off_writes_nothing(dagr_server):
    body = ndjson(data.persons(200, serial=4000))
    sent = body[: len(body) // 2]
    head = (
        f"POST {records_url(data.CUT)} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{dagr_server.port}\r\n"
        f"Authorization: Bearer {dagr_server.token('provider')}\r\n"
        f"Content-Type: {NDJSON_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((dagr_server.host, dagr_server.port), timeout=10) as sock:
        sock.sendall(head + sent)
        time.sleep(0.5)
        sock.shutdown(socket.SHUT_RDWR)
    # the server notices the end of the connection and gives the load up; whatever it recorded,
    # nothing may be written
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not dagr_server.loads(data.CUT):
        time.sleep(0.2)
    assert [load for load in dagr_server.loads(data.CUT) if load["status"] == "succeeded"] == []
    assert dagr_server.live_records(data.CUT) == 0


# --- snapshots -----------------------------------------------------------------------------------


def test_snapshot_deleting_most_records_needs_the_exact_confirmation(dagr_server):
    records = data.persons(10, serial=5000)
    first = dagr_server.request(
        "POST", records_url(data.SNAPSHOT), token="provider", json_body=records
    )
    assert first.status == 200, first.body
    kept = records[:3]  # a snapshot of 3 would delete 7 of 10 (70 %)

    for query in ("?mode=snapshot", "?mode=snapshot&confirm_deletions=6"):
        refused = dagr_server.request(
            "POST", records_url(data.SNAPSHOT, query), token="provider", json_body=kept
        )
        assert 400 <= refused.status < 500, (query, refused.status, refused.body)
        assert refused.content_type == "application/problem+json"
        assert refused.json()["code"] == "snapshot_deletions_unconfirmed"
        assert dagr_server.live_records(data.SNAPSHOT) == 10

    accepted = dagr_server.request(
        "POST",
        records_url(data.SNAPSHOT, "?mode=snapshot&confirm_deletions=7"),
        token="provider",
        json_body=kept,
    )
    assert accepted.status == 200, accepted.body
    assert (accepted.json()["received"], accepted.json()["deleted"]) == (3, 7)
    assert dagr_server.live_records(data.SNAPSHOT) == 3


def test_empty_snapshot_is_refused(dagr_server):
    records = data.persons(4, serial=6000)
    first = dagr_server.request(
        "POST", records_url(data.EMPTY_SNAPSHOT), token="provider", json_body=records
    )
    assert first.status == 200, first.body
    refused = dagr_server.request(
        "POST",
        records_url(data.EMPTY_SNAPSHOT, "?mode=snapshot"),
        token="provider",
        body=b"",
        headers={"Content-Type": NDJSON_TYPE},
    )
    assert 400 <= refused.status < 500, refused.body
    assert refused.content_type == "application/problem+json"
    assert json.loads(refused.body)["code"] == "snapshot_deletions_unconfirmed"
    assert dagr_server.live_records(data.EMPTY_SNAPSHOT) == 4
