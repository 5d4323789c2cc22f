"""The provider API: loading through HTTP with a provider connection's token."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from dagr.accounts.models import Institution
from dagr.catalog.models import Dataset
from dagr.connections import services as connection_services
from dagr.core.actors import SYSTEM
from dagr.records import api, selectors, services
from dagr.records.models import Change, Load, Record, RecordVersion
from tests.core.test_bodies import request_for
from tests.factories import make_institution
from tests.records.factories import make_dataset
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/oauth/token"
BASE = "/api/v1/provider"


def token_for(client: Any, institution: Institution, kind: str = "provider") -> tuple[str, Any]:
    conn, secret = connection_services.connection_create(
        actor=SYSTEM, institution=institution, name=f"{kind} system", kind=kind
    )
    response = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": conn.client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"], conn


@pytest.fixture
def setup(client: Any) -> tuple[Dataset, dict[str, str]]:
    dataset = make_dataset()
    token, _conn = token_for(client, dataset.provider)
    return dataset, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post_json(client: Any, url: str, body: Any, auth: dict[str, str]) -> Any:
    return client.post(url, orjson.dumps(body), content_type="application/json", **auth)


def post_ndjson(client: Any, url: str, lines: list[bytes], auth: dict[str, str]) -> Any:
    return client.post(url, b"\n".join(lines) + b"\n", content_type="application/x-ndjson", **auth)


def ndjson(rows: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(row) for row in rows]


def test_json_array_upsert_then_the_same_data_again_changes_nothing(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(40)
    first = post_json(client, url, rows, auth)
    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["received"], body["created"], body["updated"], body["unchanged"]) == (40, 40, 0, 0)
    assert body["status"] == "succeeded" and body["mode"] == "upsert" and body["source"] == "api"
    assert body["duration_ms"] is not None and body["dataset"] == dataset.code
    assert selectors.record_count(dataset) == 40
    changes = Change.objects.filter(dataset=dataset).count()

    again = post_json(client, url, rows, auth)
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 40)
    assert Change.objects.filter(dataset=dataset).count() == changes
    assert not RecordVersion.objects.filter(record__dataset=dataset).exists()
    load = Load.objects.get(pk=again.json()["id"])
    assert load.actor_label.startswith("connection dagr-")


def test_ndjson_upsert_updates_changed_records(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(30)
    assert post_ndjson(client, url, ndjson(rows), auth).status_code == 200
    rows[3]["name"] = "SIA Jauns nosaukums"
    response = post_ndjson(client, url, [b"", *ndjson(rows), b"   "], auth)  # blank lines skipped
    assert response.status_code == 200, response.content
    assert (response.json()["updated"], response.json()["unchanged"]) == (1, 29)
    record = Record.objects.get(dataset=dataset, key=rows[3]["registration_number"])
    assert (record.version, record.data["name"]) == (2, "SIA Jauns nosaukums")


def test_snapshot_deletes_what_is_not_sent(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(20)
    assert post_json(client, url, rows, auth).status_code == 200
    response = post_json(client, f"{url}?mode=snapshot", rows[:15], auth)
    assert response.status_code == 200, response.content
    assert (response.json()["mode"], response.json()["deleted"]) == ("snapshot", 5)
    assert selectors.record_count(dataset) == 15
    gone = {row["registration_number"] for row in rows[15:]}
    deleted = Change.objects.filter(dataset=dataset, operation="deleted")
    assert {c.record_key for c in deleted} == gone


def test_delete_one_and_a_batch_of_keys(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(10)
    keys = [row["registration_number"] for row in rows]
    assert post_json(client, url, rows, auth).status_code == 200

    one = client.delete(f"{url}/{keys[0]}", **auth)
    assert one.status_code == 200, one.content
    assert (one.json()["mode"], one.json()["deleted"]) == ("delete", 1)
    again = client.delete(f"{url}/{keys[0]}", **auth)
    assert (again.json()["deleted"], again.json()["unchanged"]) == (0, 1)

    batch = post_json(client, f"{url}:delete", [*keys[1:4], "no-such-key"], auth)
    assert batch.status_code == 200, batch.content
    assert (batch.json()["deleted"], batch.json()["unchanged"]) == (3, 1)
    assert selectors.record_count(dataset) == 6
    assert Record.objects.get(dataset=dataset, key=keys[1]).deleted_at is not None

    bad = post_json(client, f"{url}:delete", {"keys": keys}, auth)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_body"


def test_one_bad_record_in_a_large_ndjson_body_stores_nothing_and_is_listed(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(6000)  # more than one write batch before the bad record
    rows[5500]["employees"] = "daudz"
    lines = ndjson(rows)
    lines.insert(5800, b"{not json")
    response = post_ndjson(client, url, lines, auth)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_records"
    assert (body["invalid"], body["received"]) == (2, 6001)
    assert body["errors"] == [
        {
            "position": 5501,
            "key": rows[5500]["registration_number"],
            "field": "employees",
            "code": "integer",
            "message": body["errors"][0]["message"],
        },
        {
            "position": 5801,
            "key": None,
            "field": "",
            "code": "invalid_json",
            "message": body["errors"][1]["message"],
        },
    ]
    assert body["errors"][0]["message"] and body["errors"][1]["message"]
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(dataset=dataset).exists()
    failed = Load.objects.get(pk=body["load_id"])
    assert (failed.status, failed.invalid) == (Load.Status.FAILED, 2)


def test_a_json_array_with_invalid_records_lists_every_one(client, setup):
    dataset, auth = setup
    rows: list[Any] = companies(5)
    rows[1] = "not an object"
    del rows[3]["registration_number"]
    response = post_json(client, f"{BASE}/datasets/{dataset.code}/records", rows, auth)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["position"], e["code"]) for e in errors] == [(2, "not_object"), (4, "required")]
    assert not Record.objects.filter(dataset=dataset).exists()


def test_bodies_that_are_not_records_get_clear_errors(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    not_array = post_json(client, url, {"records": []}, auth)
    assert (not_array.status_code, not_array.json()["code"]) == (422, "invalid_body")
    broken = client.post(url, b"[{", content_type="application/json", **auth)
    assert (broken.status_code, broken.json()["code"]) == (422, "invalid_json")
    csv = client.post(url, b"a,b\n1,2\n", content_type="text/csv", **auth)
    assert (csv.status_code, csv.json()["code"]) == (415, "unsupported_media_type")
    assert csv["Content-Type"] == "application/problem+json"
    wrong_mode = post_json(client, f"{url}?mode=replace", [], auth)
    assert wrong_mode.status_code == 422


def test_size_limits_answer_413(client, setup, settings):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    settings.DAGR_PROVIDER_MAX_JSON_BYTES = 2000
    settings.DAGR_PROVIDER_MAX_NDJSON_BYTES = 4000
    rows = companies(30)
    big_json = post_json(client, url, rows, auth)
    assert big_json.status_code == 413, big_json.content
    assert big_json.json()["code"] == "payload_too_large"
    assert "MB" in big_json.json()["detail"]
    big_ndjson = post_ndjson(client, url, ndjson(rows), auth)
    assert big_ndjson.status_code == 413
    assert post_ndjson(client, url, ndjson(rows[:5]), auth).status_code == 200
    assert not Record.objects.filter(dataset=dataset, key=rows[10]["registration_number"])


def test_only_the_datasets_own_provider_system_may_write(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(3)

    other = make_institution()
    other_token, _ = token_for(client, other)
    foreign = post_json(client, url, rows, {"HTTP_AUTHORIZATION": f"Bearer {other_token}"})
    missing = post_json(client, f"{BASE}/datasets/no-such-dataset/records", rows, auth)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == "dataset_not_found"
    assert foreign.json()["title"] == missing.json()["title"]
    foreign_delete = client.delete(f"{url}/x", HTTP_AUTHORIZATION=f"Bearer {other_token}")
    assert foreign_delete.status_code == 404
    foreign_loads = client.get(
        f"{BASE}/datasets/{dataset.code}/loads", HTTP_AUTHORIZATION=f"Bearer {other_token}"
    )
    assert foreign_loads.status_code == 404

    recipient_token, _ = token_for(client, dataset.provider, kind="recipient")
    as_recipient = post_json(client, url, rows, {"HTTP_AUTHORIZATION": f"Bearer {recipient_token}"})
    assert as_recipient.status_code == 403
    assert as_recipient.json()["code"] == "wrong_connection_kind"

    assert post_json(client, url, rows, {}).status_code == 401
    garbage = post_json(client, url, rows, {"HTTP_AUTHORIZATION": "Bearer x.y.z"})
    assert garbage.status_code == 401

    token, conn = token_for(client, dataset.provider)
    connection_services.connection_revoke(actor=SYSTEM, connection=conn)
    revoked = post_json(client, url, rows, {"HTTP_AUTHORIZATION": f"Bearer {token}"})
    assert revoked.status_code == 401 and revoked.json()["code"] == "invalid_token"
    assert not Record.objects.filter(dataset=dataset).exists()


def test_a_retired_dataset_refuses_loads_with_409(client, setup):
    dataset, auth = setup
    dataset.status = Dataset.Status.RETIRED
    dataset.save(update_fields=["status"])
    url = f"{BASE}/datasets/{dataset.code}/records"
    response = post_json(client, url, companies(2), auth)
    assert response.status_code == 409
    assert response.json()["code"] == "dataset_retired"
    assert client.delete(f"{url}/x", **auth).json()["code"] == "dataset_retired"
    assert client.get(f"{BASE}/datasets/{dataset.code}/loads", **auth).status_code == 200


def test_dataset_list_and_load_history(client, setup):
    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(12)
    for size in (5, 8, 12):
        assert post_json(client, url, rows[:size], auth).status_code == 200
    client.delete(f"{url}/{rows[0]['registration_number']}", **auth)
    make_dataset()  # another institution's dataset is not listed

    listed = client.get(f"{BASE}/datasets", **auth)
    assert listed.status_code == 200
    (item,) = listed.json()
    assert (item["code"], item["records"], item["key"]) == (
        dataset.code,
        11,
        "registration_number",
    )
    assert item["last_load"]["mode"] == "delete"

    page = client.get(f"{BASE}/datasets/{dataset.code}/loads?limit=2&offset=1", **auth)
    assert page.status_code == 200, page.content
    body = page.json()
    assert body["count"] == 4
    assert [(load["mode"], load["created"]) for load in body["items"]] == [
        ("upsert", 4),
        ("upsert", 3),
    ]


def test_the_operations_are_documented(client):
    schema = client.get("/api/v1/openapi.json").json()
    load = schema["paths"]["/api/v1/provider/datasets/{code}/records"]["post"]
    assert load["summary"] and "Atomic" in load["description"]
    assert set(load["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert {"200", "401", "403", "404", "409", "413", "415", "422"} <= set(load["responses"])


def test_an_ndjson_stream_growing_over_the_limit_aborts_the_load_and_writes_nothing():
    """A body without a trustworthy length is counted while it streams: passing the limit after
    several written batches rolls the whole load back."""
    dataset = make_dataset()
    lines = ndjson(companies(12_000))
    request = request_for(b"\n".join(lines) + b"\n", content_length=None, short=65536)
    limit = sum(len(line) + 1 for line in lines[:11_000])
    with pytest.raises(api.PayloadTooLarge):
        services.records_upsert(
            actor=SYSTEM, dataset=dataset, records=api._ndjson_records(request, limit)
        )
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(dataset=dataset).exists()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_ndjson_is_read_whole_from_a_granian_like_input(client, setup, chunked):
    """granian's WSGI input: short reads, a ``readline`` without the newline, chunked bodies
    without CONTENT_LENGTH (``tests.core.test_bodies.GranianLikeInput``). Every line counts."""
    from tests.core.test_bodies import GranianLikeInput

    dataset, auth = setup
    url = f"{BASE}/datasets/{dataset.code}/records"
    rows = companies(3)

    def send(body: bytes, query: str = "") -> Any:
        extra: dict[str, Any] = {
            "wsgi.input": GranianLikeInput(body),
            "wsgi.input_terminated": True,
        }
        if chunked:
            extra["CONTENT_LENGTH"] = ""
        return client.post(url + query, body, content_type="application/x-ndjson", **auth, **extra)

    bad = send(b"\n".join([orjson.dumps(rows[0]), b"{not json", orjson.dumps(rows[2])]))
    assert bad.status_code == 422, bad.content
    assert (bad.json()["received"], bad.json()["errors"][0]["position"]) == (3, 2)
    assert not Record.objects.filter(dataset=dataset).exists()

    good = send(b"\r\n".join(ndjson(rows)) + b"\r\n")
    assert good.status_code == 200, good.content
    assert (good.json()["received"], good.json()["created"]) == (3, 3)

    snapshot = send(orjson.dumps(rows[0]), "?mode=snapshot")
    assert snapshot.status_code == 409 and snapshot.json()["would_delete"] == 2
    assert selectors.record_count(dataset) == 3


def test_a_body_cut_off_before_its_content_length_writes_nothing(client, setup):
    from tests.core.test_bodies import GranianLikeInput

    dataset, auth = setup
    body = b"\n".join(ndjson(companies(50))) + b"\n"
    cut = body.index(b"\n", len(body) // 2) + 1  # whole lines only: they would load
    answer = client.post(
        f"{BASE}/datasets/{dataset.code}/records",
        body,
        content_type="application/x-ndjson",
        **auth,
        **{"wsgi.input": GranianLikeInput(body, cut_after=cut)},
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "incomplete_body"
    assert answer.json()["declared_bytes"] == len(body)
    assert not Record.objects.filter(dataset=dataset).exists()
    assert not Load.objects.filter(dataset=dataset, status=Load.Status.SUCCEEDED).exists()
