"""The record set API: CRUD, watched values, the feed, and who gets 401/403/404."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.connections.services import connection_create
from dagr.monitoring.models import RecordSet
from tests.factories import make_institution, make_user
from tests.retrieval.factories import make_world, token_for

from .record_set_helpers import make_set

pytestmark = pytest.mark.django_db
BASE = "/api/v1/record-sets"


@pytest.fixture
def w():
    return make_world()


def auth(w, who: str = "recipient") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {w.tokens[who]}"}


def post(client, url: str, body: Any, **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def other_recipient_token() -> str:
    other = make_institution(kind=Institution.Kind.RECIPIENT)
    rep = make_user(institution=other, roles=(Membership.Role.RECIPIENT,))
    connection, _ = connection_create(actor=rep, institution=other, name="Cita", kind="recipient")
    return token_for(connection)


def test_create_list_get_patch_delete(client, w):
    body = {
        "dataset": w.dataset.code,
        "permission_number": "ATL-1",
        "name": "Valdes locekļi",
        "identifier_field": "board_members.personal_code",
        "conditions": [{"field": "city", "op": "eq", "value": "Rīga"}],
    }
    response = post(client, BASE, body, **auth(w))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["dataset"] == w.dataset.code and created["identifier_count"] == 0
    rid = created["id"]
    listed = client.get(BASE, **auth(w)).json()["record_sets"]
    assert [r["id"] for r in listed] == [rid]
    assert client.get(f"{BASE}/{rid}", **auth(w)).json()["name"] == "Valdes locekļi"
    response = client.patch(
        f"{BASE}/{rid}", json.dumps({"name": "Jauns"}), content_type="application/json", **auth(w)
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Jauns" and response.json()["conditions"]  # kept
    response = client.patch(
        f"{BASE}/{rid}", json.dumps({"conditions": []}), content_type="application/json",
        **auth(w),
    )  # fmt: skip
    assert response.json()["conditions"] == []
    assert client.delete(f"{BASE}/{rid}", **auth(w)).status_code == 204
    assert not RecordSet.objects.exists()


def test_create_errors_are_problems(client, w):
    body = {"dataset": w.dataset.code, "permission_number": "ATL-1", "name": "X",
            "identifier_field": "secret_note"}  # fmt: skip
    response = post(client, BASE, body, **auth(w))
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unknown_identifier"
    body["identifier_field"] = ""
    body["conditions"] = [{"field": "secret_note", "op": "empty"}]
    response = post(client, BASE, body, **auth(w))
    assert response.json()["errors"][0]["code"] == "field_not_granted"
    body["conditions"] = []
    body["permission_number"] = "NAV"
    response = post(client, BASE, body, **auth(w))
    assert response.status_code == 404 and response.json()["code"] == "grant_not_found"


def test_identifiers_add_remove_and_page(client, w):
    record_set = make_set(w)
    url = f"{BASE}/{record_set.pk}/identifiers"
    values = [f"4000{n:07d}" for n in range(1, 26)]
    response = post(client, url, {"add": values}, **auth(w))
    assert response.json() == {"added": 25, "removed": 0, "identifier_count": 25}
    response = post(client, url, {"add": ["40000000001"], "remove": ["40000000025"]}, **auth(w))
    assert response.json() == {"added": 0, "removed": 1, "identifier_count": 24}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        body = client.get(url, params, **auth(w)).json()
        seen.extend(body["identifiers"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == values[:24]
    response = post(client, url, {"add": ["ok", ""]}, **auth(w))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_identifiers"
    assert response.json()["errors"][0]["location"] == "add.1"
    response = post(client, url, {"add": ["x"] * 10_001}, **auth(w))
    assert response.json()["code"] == "too_many_values"
    assert client.get(url, {"cursor": "%%%"}, **auth(w)).status_code == 422


def test_changes_follow_the_feed(client, w):
    record_set = make_set(w)
    url = f"{BASE}/{record_set.pk}/identifiers"
    post(client, url, {"add": ["40000000002"]}, **auth(w))
    response = client.get(f"{BASE}/{record_set.pk}/changes", {"limit": 5}, **auth(w))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [c["key"] for c in body["changes"]] == ["40000000002"]
    assert body["has_more"] is False and body["next_cursor"]
    response = client.get(f"{BASE}/{record_set.pk}/changes", {"cursor": "bad!"}, **auth(w))
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "X"}),
        ("delete", "", None),
        ("get", "/identifiers", None),
        ("post", "/identifiers", {"add": ["1"]}),
        ("get", "/changes", None),
    ],
)
def test_who_gets_401_403_404(client, w, method, suffix, body):
    record_set = make_set(w)
    url = f"{BASE}/{record_set.pk}{suffix}"

    def call(**headers: str) -> Any:
        if body is None:
            return getattr(client, method)(url, **headers)
        return getattr(client, method)(
            url, json.dumps(body), content_type="application/json", **headers
        )

    assert call().status_code == 401
    assert call(HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    assert call(**auth(w, "provider")).status_code == 403
    response = call(HTTP_AUTHORIZATION=f"Bearer {other_recipient_token()}")
    assert response.status_code == 404 and response.json()["code"] == "record_set_not_found"
    assert call(**auth(w)).status_code in (200, 204)
    assert client.get(f"{BASE}/999999{suffix}", **auth(w)).status_code in (404, 405)


def test_list_and_create_need_a_recipient_system(client, w):
    assert client.get(BASE).status_code == 401
    assert client.get(BASE, **auth(w, "provider")).status_code == 403
    make_set(w)
    response = client.get(BASE, HTTP_AUTHORIZATION=f"Bearer {other_recipient_token()}")
    assert response.json() == {"record_sets": []}
    body = {"dataset": w.dataset.code, "permission_number": "ATL-1", "name": "X"}
    response = post(client, BASE, body, HTTP_AUTHORIZATION=f"Bearer {other_recipient_token()}")
    assert response.status_code == 404  # another institution's grant


def test_documented_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths[BASE])
    assert {"get", "patch", "delete"} <= set(paths[BASE + "/{record_set_id}"])
    assert "get" in paths[BASE + "/{record_set_id}/changes"]
