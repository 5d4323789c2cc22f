"""A NUL character in the URL, a header or a body that ninja parses is 400 ``nul_character``
problem+json — never a database error (PostgreSQL cannot store or compare text with NUL; these
were 500s). Record bodies of the provider API report it per record instead
(``tests/records/test_input_bounds.py``)."""

from __future__ import annotations

import orjson
import pytest

from dagr.monitoring.models import RecordSet
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db


def assert_nul_problem(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "nul_character" and body["title"] and body["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/catalog/datasets/a%00b",
        "/api/v1/catalog/datasets?q=a%00",
        "/api/v1/data/x%00/records?limit=1",
        "/api/v1/data/x/records/registration_number/a%00b",  # the hot path
    ],
)
def test_in_the_url(client, url):
    assert_nul_problem(client.get(url))


def test_in_a_header(client):
    w = make_world()
    response = client.get(f"/api/v1/data/{w.dataset.code}/records", **w.headers("ATL\x00-1"))
    assert_nul_problem(response)


def test_in_a_json_body_and_nested(client):
    w = make_world()
    body = {
        "dataset": w.dataset.code,
        "permission_number": "ATL-1",
        "name": "Mani\x00",
        "identifier_field": "registration_number",
    }
    url = "/api/v1/record-sets"
    send = {"content_type": "application/json", **w.headers(None)}
    assert_nul_problem(client.post(url, orjson.dumps(body), **send))
    body["name"] = "Mani"
    body["conditions"] = [{"field": "name", "op": "eq", "value": "x\x00"}]
    assert_nul_problem(client.post(url, orjson.dumps(body), **send))
    assert not RecordSet.objects.exists()


def test_in_a_form_body(client):
    response = client.post(
        "/api/v1/oauth/token",
        {"grant_type": "client_credentials", "client_id": "dagr-\x00", "client_secret": "x"},
    )
    assert_nul_problem(response)
