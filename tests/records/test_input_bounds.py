"""Input that once crashed the provider API (issue #10, part 3): integers wider than 64 bits,
NUL characters in keys and text, unbounded ``limit``/``offset``. Each is a clear 4xx with a
stable code, and a refused load writes nothing — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dagr.records import selectors
from dagr.records.models import Change, Load, Record
from tests.records.factories import make_dataset
from tests.records.test_api import BASE, token_for
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(client: Any) -> tuple[Any, dict[str, str]]:
    dataset = make_dataset()
    token, _conn = token_for(client, dataset.provider)
    return dataset, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post_raw_json(client: Any, url: str, body: Any, auth: dict[str, str]) -> Any:
    # json, not orjson: orjson cannot even write an integer wider than 64 bits
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def assert_nothing_written(dataset: Any) -> None:
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(dataset=dataset).exists()
    assert not Load.objects.filter(dataset=dataset, status=Load.Status.SUCCEEDED).exists()


@pytest.mark.parametrize("number", [2**64, 2**63, -(2**63) - 1, 10**40])
def test_an_integer_wider_than_64_bits_is_a_per_record_error(client, provider, number):
    dataset, auth = provider
    rows = companies(3)
    rows[1]["employees"] = number
    response = post_raw_json(client, f"{BASE}/datasets/{dataset.code}/records", rows, auth)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_records" and body["invalid"] == 1
    (error,) = body["errors"]
    assert (error["position"], error["field"], error["code"]) == (2, "employees", "integer_range")
    assert "-9223372036854775808" in error["message"] and "9223372036854775807" in error["message"]
    assert_nothing_written(dataset)


def test_the_64_bit_limits_themselves_are_loaded(client, provider):
    dataset, auth = provider
    rows = companies(2)
    rows[0]["employees"], rows[1]["employees"] = 2**63 - 1, -(2**63)
    response = post_raw_json(client, f"{BASE}/datasets/{dataset.code}/records", rows, auth)
    assert response.status_code == 200, response.content
    stored = sorted(r.data["employees"] for r in Record.objects.filter(dataset=dataset))
    assert stored == [-(2**63), 2**63 - 1]


@pytest.mark.parametrize(
    ("place", "field"),
    [("key", "registration_number"), ("name", "name"), ("nested", "board_members.role")],
)
def test_a_nul_character_is_a_per_record_error(client, provider, place, field):
    dataset, auth = provider
    rows = companies(2)
    if place == "key":
        rows[0]["registration_number"] = "4000\x000001"
    elif place == "name":
        rows[0]["name"] = "SIA \x00 Nulle"
    else:
        rows[0]["board_members"][0]["role"] = "valde\x00"
    response = post_raw_json(client, f"{BASE}/datasets/{dataset.code}/records", rows, auth)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_records"
    codes = {(e["position"], e["field"], e["code"]) for e in body["errors"]}
    assert (1, field, "nul_character") in codes
    assert_nothing_written(dataset)
    # the failed load is recorded with its errors (PostgreSQL stores no NUL: shown as U+FFFD)
    failed = Load.objects.get(dataset=dataset, status=Load.Status.FAILED)
    assert any(e["code"] == "nul_character" for e in failed.errors)
    assert "\x00" not in json.dumps(failed.errors, ensure_ascii=False)


def test_a_nul_character_in_a_field_name_is_refused_and_recorded(client, provider):
    dataset, auth = provider
    rows = companies(1)
    rows[0]["na\x00me"] = "x"
    response = post_raw_json(client, f"{BASE}/datasets/{dataset.code}/records", rows, auth)
    assert response.status_code == 422, response.content
    (error,) = response.json()["errors"]
    assert (error["code"], error["field"]) == ("unknown_field", "na\ufffdme")
    assert_nothing_written(dataset)


def test_a_nul_character_in_a_key_to_delete_is_refused_and_nothing_is_deleted(client, provider):
    dataset, auth = provider
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(2)
    assert post_raw_json(client, url, rows, auth).status_code == 200
    keys = [rows[0]["registration_number"], "4000\x000002"]

    batch = post_raw_json(client, f"{url}:delete", keys, auth)
    assert batch.status_code == 422, batch.content
    body = batch.json()
    assert body["code"] == "invalid_keys"
    assert [(e["position"], e["code"]) for e in body["errors"]] == [(2, "nul_character")]

    single = client.delete(f"{url}/4000%000002", **auth)  # refused for the whole API: 400
    assert single.status_code == 400, single.content
    assert single.json()["code"] == "nul_character"
    assert selectors.record_count(dataset) == 2  # nothing deleted
    assert not Load.objects.filter(dataset=dataset, mode=Load.Mode.DELETE).exists()


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=-1",
        "offset=1000000001",
        "limit=9223372036854775808",
        "limit=0",
        "limit=1001",
    ],
)
def test_out_of_range_paging_is_a_422_problem(client, provider, query):
    dataset, auth = provider
    response = client.get(f"{BASE}/datasets/{dataset.code}/loads?{query}", **auth)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["errors"][0]["location"] == query.split("=")[0]  # as the client wrote it
    public = client.get(f"/api/v1/catalog/datasets?{query}")
    assert public.status_code == 422 and public.json()["code"] == "invalid_request"


def test_the_largest_allowed_offset_answers_an_empty_page(client, provider):
    dataset, auth = provider
    response = client.get(f"{BASE}/datasets/{dataset.code}/loads?offset=1000000000", **auth)
    assert response.status_code == 200, response.content
    assert response.json()["items"] == []


def test_the_bounds_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/provider/datasets/{code}/loads", "/api/v1/catalog/datasets"):
        params = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}
        assert (params["offset"]["minimum"], params["offset"]["maximum"]) == (0, 1_000_000_000)
        assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 1000)
    version = {
        p["name"]: p["schema"]
        for p in paths["/api/v1/catalog/datasets/{code}/schema.yaml"]["get"]["parameters"]
    }["version"]["anyOf"][0]
    assert version["minimum"] == 1 and version["maximum"] == 2**63 - 1
    record_set = paths["/api/v1/record-sets/{record_set_id}"]["get"]["parameters"][0]
    assert record_set["schema"]["maximum"] == 2**63 - 1
