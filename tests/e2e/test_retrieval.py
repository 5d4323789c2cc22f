"""Retrieval through the real server: a lookup by identifier and pages of the change feed."""

from __future__ import annotations

import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from tests.e2e import data

pytestmark = pytest.mark.e2e


def grant_headers() -> dict[str, str]:
    return {"X-Permission-Number": data.GRANTS[data.LOOKUP]}


def test_lookup_by_identifier(dagr_server):
    person = data.persons(data.LOOKUP_PERSONS, serial=900_000)[7]
    path = f"/api/v1/data/{data.LOOKUP}/records/personal_code/{person['personal_code']}"
    found = dagr_server.request("GET", path, token="recipient", headers=grant_headers())
    assert found.status == 200, found.body
    assert found.json()["records"] == [person]

    without_grant = dagr_server.request("GET", path, token="recipient")
    assert without_grant.status in (400, 403), without_grant.body
    assert without_grant.content_type == "application/problem+json"
    assert dagr_server.request("GET", path).status == 401  # no token


def test_change_feed_pages(dagr_server):
    path = f"/api/v1/data/{data.LOOKUP}/changes"
    first = dagr_server.request(
        "GET", path, token="recipient", headers=grant_headers(), fields={"limit": "30"}
    )
    assert first.status == 200, first.body
    page = first.json()
    assert (len(page["changes"]), page["has_more"]) == (30, True)
    assert {change["operation"] for change in page["changes"]} == {"created"}
    second = dagr_server.request(
        "GET",
        path,
        token="recipient",
        headers=grant_headers(),
        fields={"limit": "30", "cursor": page["next_cursor"]},
    )
    assert second.status == 200, second.body
    rest = second.json()
    assert (len(rest["changes"]), rest["has_more"]) == (data.LOOKUP_PERSONS - 30, False)
    keys = [c["key"] for c in page["changes"] + rest["changes"]]
    expected = [p["personal_code"] for p in data.persons(data.LOOKUP_PERSONS, serial=900_000)]
    assert sorted(keys) == sorted(expected)


def test_batch_lookup_with_a_chunked_body(dagr_server):
    """A JSON body that ninja parses (not one of the hand-read loading bodies), sent chunked
    without Content-Length: Django alone would read it as empty under granian."""
    people = data.persons(data.LOOKUP_PERSONS, serial=900_000)[:3]
    body = orjson.dumps(
        {"field": "personal_code", "values": [p["personal_code"] for p in people] + ["x"]}
    )
    answer = dagr_server.chunked(
        f"/api/v1/data/{data.LOOKUP}/lookup",
        [body[:5], body[5:17], body[17:]],
        token="recipient",
        content_type="application/json",
        headers=grant_headers(),
    )
    assert answer.status == 200, answer.body
    found = answer.json()
    assert sorted(r["personal_code"] for r in found["records"]) == sorted(
        p["personal_code"] for p in people
    )


def _audited(database_url: str, request_ids: list[str]) -> list[tuple[str, int, str]]:
    """``(request id, status, outcome)`` of the access entries with these request ids, read
    through a connection of our own (what another process sees: committed rows only)."""
    marks = ", ".join(["%s"] * len(request_ids))
    sql = (
        "SELECT request_id, status_code, outcome FROM audit_accessentry "  # noqa: S608
        f"WHERE request_id IN ({marks})"
    )
    if database_url.startswith("sqlite"):
        import sqlite3

        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            return db.execute(sql.replace("%s", "?"), request_ids).fetchall()
    import psycopg

    with psycopg.connect(database_url) as db:
        return db.execute(sql, request_ids).fetchall()


def test_every_answered_request_has_its_committed_entry_under_concurrency(dagr_server):
    """16 clients at once through `dagr serve` (2 processes): each answered lookup's access
    entry is committed before the answer — it is there, exactly once, for a connection of
    another process as soon as the client has its answer."""
    people = data.persons(data.LOOKUP_PERSONS, serial=900_000)
    dagr_server.token("recipient")

    def ask(i: int) -> tuple[str, int]:
        request_id = f"e2e-concurrent-{uuid.uuid4().hex}"
        person = people[i % len(people)]
        path = f"/api/v1/data/{data.LOOKUP}/records/personal_code/{person['personal_code']}"
        answer = dagr_server.request(
            "GET", path, token="recipient",
            headers={**grant_headers(), "X-Request-ID": request_id},
        )  # fmt: skip
        assert answer.headers["X-Request-ID"] == request_id
        return request_id, answer.status

    with ThreadPoolExecutor(max_workers=16) as pool:
        answered = list(pool.map(ask, range(160)))
    assert {status for _id, status in answered} == {200}
    found = _audited(dagr_server.database_url, [request_id for request_id, _s in answered])
    assert sorted(found) == sorted((request_id, 200, "ok") for request_id, _s in answered)
