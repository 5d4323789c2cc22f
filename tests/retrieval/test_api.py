"""The retrieval API: the permission / visibility matrix, every error code, pagination."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from dagr.audit.access_selectors import grant_use_counts
from dagr.grants.models import Grant
from dagr.grants.selectors import start_of_day

from .factories import GRANTED_FIELDS, make_world, set_grant, today

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"


@pytest.fixture
def w():
    return make_world()


def url(w, tail: str) -> str:
    return f"{BASE}/{w.dataset.code}{tail}"


def problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json", response.content
    return json.loads(response.content)


def all_keys(records) -> set[str]:
    keys: set[str] = set()
    for r in records:
        keys |= set(r)
        for member in r.get("board_members", []):
            keys |= {f"board_members.{k}" for k in member}
    return keys


def test_get_by_key_returns_only_granted_fields(client, w):
    response = client.get(url(w, "/records/registration_number/40000000002"), **w.headers())
    assert response.status_code == 200, response.content
    (record,) = response.json()["records"]
    assert record["name"] == "SIA Nr 2"
    assert record["board_members"][0] == {"personal_code": "P-2", "role": "valdes priekšsēdētājs"}
    assert "secret_note" not in record
    assert all_keys([record]) <= set(GRANTED_FIELDS) | {"board_members"}
    assert "salary" not in response.content.decode() and "secret" not in response.content.decode()


def test_get_by_other_identifier_and_nested_identifier(client, w):
    response = client.get(url(w, "/records/address_code/100000005"), **w.headers())
    assert [r["registration_number"] for r in response.json()["records"]] == ["40000000005"]
    response = client.get(url(w, "/records/board_members.personal_code/P-SHARED"), **w.headers())
    assert response.status_code == 200
    found = [r["registration_number"] for r in response.json()["records"]]
    # 1–20 are visible; 21 (inactive) and 22 (too small) are outside, 23 is deleted.
    assert found == [f"4000{n:07d}" for n in range(1, 21)]


@pytest.mark.parametrize(
    "value", ["40000000021", "40000000022", "40000000023", "49999999999"],
    ids=["inactive-outside", "small-outside", "deleted", "missing"],
)  # fmt: skip
def test_outside_the_grant_is_indistinguishable_from_missing(client, w, value):
    missing = client.get(url(w, "/records/registration_number/49999999999"), **w.headers())
    other = client.get(url(w, f"/records/registration_number/{value}"), **w.headers())
    assert missing.status_code == other.status_code == 404
    a, b = problem(missing), problem(other)
    for body in (a, b):
        body.pop("request_id", None)
        body.pop("instance", None)
    assert a == b
    assert a["code"] == "record_not_found"
    assert other.content.replace(value.encode(), b"X") == missing.content.replace(
        b"49999999999", b"X"
    ).replace(missing["X-Request-ID"].encode(), other["X-Request-ID"].encode())


def test_batch_lookup_mixes_found_outside_missing(client, w):
    values = ["40000000003", "40000000021", "49999999999", "40000000001", "40000000023"]
    response = client.post(
        url(w, "/lookup"),
        {"field": "registration_number", "values": values},
        content_type="application/json",
        **w.headers(),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["registration_number"] for r in body["records"]] == ["40000000003", "40000000001"]
    assert body["not_found"] == ["40000000021", "49999999999", "40000000023"]
    assert "secret_note" not in response.content.decode()


def test_batch_lookup_limits_and_nested(client, w):
    too_many = client.post(
        url(w, "/lookup"),
        {"field": "registration_number", "values": [str(n) for n in range(1001)]},
        content_type="application/json",
        **w.headers(),
    )
    assert too_many.status_code == 422
    nested = client.post(
        url(w, "/lookup"),
        {"field": "board_members.personal_code", "values": ["P-4", "P-21", "P-nobody", "P-4"]},
        content_type="application/json",
        **w.headers(),
    )
    body = nested.json()
    assert [r["registration_number"] for r in body["records"]] == ["40000000004"]
    assert body["not_found"] == ["P-21", "P-nobody"]


def test_unknown_identifier_field_is_invalid(client, w):
    response = client.get(url(w, "/records/name/SIA Nr 2"), **w.headers())
    assert response.status_code == 422
    assert problem(response)["code"] == "unknown_identifier"


def test_permission_number_is_required(client, w):
    response = client.get(url(w, "/records/registration_number/40000000002"), **w.headers(None))
    assert response.status_code == 400
    assert problem(response)["code"] == "permission_number_required"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": Grant.Status.REVOKED}, "grant_revoked"),
        ({"valid_until": "past"}, "grant_expired"),
        ({"valid_from": "future"}, "grant_not_yet_valid"),
        (None, "grant_missing"),
    ],
)
def test_unusable_grants_have_distinct_codes(client, w, change, code):
    number = "ATL-1"
    if change is None:
        number = "ATL-NOPE"
    else:
        values = dict(change)
        if values.get("valid_until") == "past":
            values["valid_until"] = today() - timedelta(days=1)
        if values.get("valid_from") == "future":
            values["valid_from"] = today() + timedelta(days=1)
        set_grant(w.grant, **values)
    response = client.get(url(w, "/records/registration_number/40000000002"), **w.headers(number))
    assert response.status_code == 403
    body = problem(response)
    assert body["code"] == code
    assert "records" not in body


def test_another_institutions_grant_number_is_missing(client, w):
    other = make_world()
    response = client.get(
        f"{BASE}/{other.dataset.code}/records/registration_number/40000000002", **w.headers()
    )
    assert response.status_code == 403
    assert problem(response)["code"] == "grant_missing"


def test_quota_exceeded_is_429(client):
    w = make_world(quota=2)
    path = url(w, "/records/registration_number/40000000002")
    assert client.get(path, **w.headers()).status_code == 200
    assert (
        client.get(url(w, "/records/registration_number/49999999999"), **w.headers()).status_code
        == 404
    )
    response = client.get(path, **w.headers())
    assert response.status_code == 429
    assert problem(response)["code"] == "quota_exceeded"
    assert grant_use_counts([w.grant.pk], since=start_of_day())[w.grant.pk] == (2, 2)


def test_unknown_and_sandbox_datasets_are_404(client, w):
    response = client.get(f"{BASE}/no-such-ds/records/registration_number/1", **w.headers())
    assert response.status_code == 404
    assert problem(response)["code"] == "dataset_not_found"
    from dagr.retrieval.datasets import dataset_cache

    type(w.dataset).objects.filter(pk=w.dataset.pk).update(status="sandbox")
    dataset_cache.invalidate()
    response = client.get(url(w, "/records/registration_number/40000000002"), **w.headers())
    assert response.status_code == 404
    assert problem(response)["code"] == "dataset_not_found"


def test_provider_connection_is_403_and_no_token_is_401(client, w):
    path = url(w, "/records/registration_number/40000000002")
    response = client.get(
        path, HTTP_AUTHORIZATION=f"Bearer {w.tokens['provider']}", HTTP_X_PERMISSION_NUMBER="ATL-1"
    )
    assert response.status_code == 403
    assert problem(response)["code"] == "wrong_connection_kind"
    response = client.get(path, HTTP_X_PERMISSION_NUMBER="ATL-1")
    assert response.status_code == 401
    assert "records" not in problem(response)
    response = client.get(
        path, HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_X_PERMISSION_NUMBER="ATL-1"
    )
    assert response.status_code == 401


def test_current_permissions(client, w):
    client.get(url(w, "/records/registration_number/40000000002"), **w.headers())
    response = client.get(f"{BASE}/grants", **w.headers())
    assert response.status_code == 200
    (item,) = response.json()["permissions"]
    assert item["dataset"] == w.dataset.code
    assert item["permission_number"] == "ATL-1"
    assert item["purpose"] == "Uzraudzība"
    assert item["use_count"] == 1 and item["used_today"] == 1 and item["quota"] is None
    assert item["status"] == "approved"
    assert set(item["fields"]) == set(GRANTED_FIELDS) | {"board_members"}
    assert "secret_note" not in item["fields"]


def test_search_pages_have_no_gaps_or_duplicates(client, w):
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 6} | ({"cursor": cursor} if cursor else {})
        response = client.get(url(w, "/records"), params, **w.headers())
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [r["registration_number"] for r in body["records"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 4  # 20 visible records, 6 per page
    assert seen == [f"4000{n:07d}" for n in range(1, 21)]


def test_search_filters_on_granted_fields(client, w):
    response = client.get(url(w, "/records"), {"city": "Rīga", "employees": "15"}, **w.headers())
    assert [r["registration_number"] for r in response.json()["records"]] == ["40000000005"]
    response = client.get(url(w, "/records"), {"active": "false"}, **w.headers())
    assert response.json()["records"] == []  # the inactive company is outside the grant


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"secret_note": "secret 21"}, "field_not_granted"),
        ({"nope": "1"}, "unknown_field"),
        ({"board_members": "x"}, "filter_not_supported"),
        ({"employees": "many"}, "invalid_value"),
    ],
)
def test_search_refuses_bad_filters(client, w, params, code):
    response = client.get(url(w, "/records"), params, **w.headers())
    assert response.status_code == 422
    body = problem(response)
    assert body["code"] == "invalid_filters"
    assert body["errors"][0]["code"] == code


def test_search_refuses_bad_cursor(client, w):
    response = client.get(url(w, "/records"), {"cursor": "%%%"}, **w.headers())
    assert response.status_code == 422
    assert problem(response)["code"] == "invalid_cursor"
