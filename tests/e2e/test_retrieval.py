"""Retrieval through the real server: a lookup by identifier and pages of the change feed."""

from __future__ import annotations

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
