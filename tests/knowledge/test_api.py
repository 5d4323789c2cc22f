"""The public help API: search (problem+json for bad input) and the paged article list."""

from __future__ import annotations

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_search(client, shipped):
    answer = client.get("/api/v1/help/search", {"q": "piekluves atlauja", "lang": "lv"})
    assert answer.status_code == 200
    hits = answer.json()
    assert hits[0]["slug"] == "request-access"
    assert hits[0]["title"] == "Piekļuves atļaujas pieprasīšana"
    assert hits[0]["url"].endswith("/help/request-access/")
    assert hits[0]["audiences"] == ["recipient", "signatory"]
    assert "<mark>" in hits[0]["snippet"]
    english = client.get("/api/v1/help/search", {"q": "token", "lang": "en"}).json()
    assert english[0]["slug"] == "get-token"
    assert english[0]["title"] == "Getting an access token"
    assert "upload-file" not in [
        hit["slug"] for hit in client.get("/api/v1/help/search", {"q": "augšupielāde"}).json()
    ]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": ""}, "invalid_request"),  # below the documented minLength
        ({"q": "   "}, "invalid_request"),  # the documented pattern: one non-space
        ({}, "invalid_request"),  # q is required
        ({"q": "x", "lang": "de"}, "invalid_request"),
        ({"q": "x" * 201}, "invalid_request"),
    ],
)
def test_search_bad_input_is_a_problem(client, params, code):
    answer = client.get("/api/v1/help/search", params)
    assert answer.status_code == 422
    assert answer["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


def test_articles_list(client, shipped):
    answer = client.get("/api/v1/help/articles", {"limit": 2})
    assert answer.status_code == 200
    data = answer.json()
    assert len(data["items"]) == 2 and data["count"] >= 3
    everything = client.get("/api/v1/help/articles", {"limit": 1000}).json()["items"]
    slugs = [item["slug"] for item in everything]
    assert "request-access" in slugs and "upload-file" not in slugs
    client.force_login(make_user())
    slugs = [i["slug"] for i in client.get("/api/v1/help/articles?limit=1000").json()["items"]]
    assert "upload-file" in slugs
