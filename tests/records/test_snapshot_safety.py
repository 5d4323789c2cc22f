"""Snapshot safety: a snapshot that deletes more than ``DAGR_SNAPSHOT_MAX_DELETE_SHARE`` of the
live records, or that holds no records, is refused and writes nothing unless the exact number of
deletions is confirmed (``confirm_deletions``) — in the loading service and through the API."""

from __future__ import annotations

from typing import Any

import pytest

from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict, ValidationError
from dagr.records import selectors, services
from dagr.records.models import Change, Load, Record, RecordIdentifier, RecordVersion
from tests.records.factories import make_dataset
from tests.records.test_api import BASE, ndjson, token_for
from tests.records.test_services import companies

pytestmark = pytest.mark.django_db
SNAPSHOT = Load.Mode.SNAPSHOT


def state(dataset: Any) -> tuple[Any, ...]:
    """Everything a load writes into the record store, to compare before and after."""
    return (
        sorted(Record.objects.filter(dataset=dataset).values_list("key", "version", "deleted_at")),
        Change.objects.filter(dataset=dataset).count(),
        RecordVersion.objects.filter(record__dataset=dataset).count(),
        RecordIdentifier.objects.filter(dataset_id=dataset.pk).count(),
        Load.objects.filter(dataset=dataset, status=Load.Status.SUCCEEDED).count(),
    )


@pytest.fixture
def loaded() -> tuple[Any, list[dict[str, Any]]]:
    dataset = make_dataset()
    rows = companies(10)
    services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows)
    return dataset, rows


def refused(dataset: Any, records: list[dict[str, Any]], **kw: Any) -> Conflict:
    with pytest.raises(Conflict) as caught:
        services.records_upsert(
            actor=SYSTEM, dataset=dataset, records=iter(records), mode=SNAPSHOT, **kw
        )
    assert caught.value.code == "snapshot_deletions_unconfirmed"
    return caught.value


def test_a_snapshot_deleting_more_than_half_is_refused_and_writes_nothing(loaded):
    dataset, rows = loaded
    changed = [{**row, "employees": 999} for row in rows[:4]]  # updates that must not stay
    before = state(dataset)
    error = refused(dataset, changed + companies(2, start=5000))
    assert (error.extra["would_delete"], error.extra["live"]) == (6, 10)
    assert "6" in str(error.message) and "10" in str(error.message)
    assert state(dataset) == before
    failed = Load.objects.get(pk=error.extra["load_id"])
    assert (failed.status, failed.mode, failed.received) == (Load.Status.FAILED, SNAPSHOT, 6)
    assert failed.errors[0]["code"] == "snapshot_deletions_unconfirmed"
    assert failed.errors[0]["would_delete"] == 6
    assert not Change.objects.filter(load=failed).exists()
    entry = AdminEntry.objects.filter(action="records.load.failed").latest("pk")
    assert entry.changes["reason"] == "snapshot_deletions_unconfirmed"


def test_exactly_half_needs_no_confirmation(loaded):
    dataset, rows = loaded
    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows[:5], mode=SNAPSHOT)
    assert (load.deleted, selectors.record_count(dataset)) == (5, 5)


def test_a_snapshot_without_records_is_refused_even_of_an_empty_dataset(loaded):
    dataset, _rows = loaded
    before = state(dataset)
    error = refused(dataset, [])
    assert (error.extra["would_delete"], error.extra["live"], error.extra["received"]) == (
        10,
        10,
        0,
    )
    assert state(dataset) == before
    empty = make_dataset()
    assert refused(empty, []).extra["would_delete"] == 0
    load = services.records_upsert(
        actor=SYSTEM, dataset=empty, records=[], mode=SNAPSHOT, confirm_deletions=0
    )
    assert load.status == Load.Status.SUCCEEDED


def test_the_exact_confirmation_lets_it_run_and_a_wrong_one_is_refused(loaded):
    dataset, rows = loaded
    before = state(dataset)
    for wrong in (5, 7, 0):
        error = refused(dataset, rows[:2], confirm_deletions=wrong)
        assert error.extra["would_delete"] == 8 and error.extra["confirm_deletions"] == wrong
        assert "8" in str(error.message)
    assert state(dataset) == before
    load = services.records_upsert(
        actor=SYSTEM, dataset=dataset, records=rows[:2], mode=SNAPSHOT, confirm_deletions=8
    )
    assert (load.deleted, load.unchanged, selectors.record_count(dataset)) == (8, 2, 2)


def test_a_given_confirmation_must_match_even_when_none_is_needed(loaded):
    dataset, rows = loaded
    error = refused(dataset, rows[:9], confirm_deletions=2)
    assert error.extra["would_delete"] == 1


def test_confirm_deletions_belongs_to_snapshots(loaded):
    dataset, rows = loaded
    with pytest.raises(ValidationError) as caught:
        services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows, confirm_deletions=0)
    assert caught.value.code == "invalid_confirm_deletions"


def test_the_share_setting_is_honoured(loaded, settings):
    dataset, rows = loaded
    settings.DAGR_SNAPSHOT_MAX_DELETE_SHARE = 0.2
    assert refused(dataset, rows[:7]).extra["would_delete"] == 3
    settings.DAGR_SNAPSHOT_MAX_DELETE_SHARE = 0.9
    load = services.records_upsert(actor=SYSTEM, dataset=dataset, records=rows[:2], mode=SNAPSHOT)
    assert load.deleted == 8


def test_the_api_names_the_count_and_takes_the_confirmation(client, loaded):
    dataset, rows = loaded
    token, _conn = token_for(client, dataset.provider)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "lv"}
    url = f"{BASE}/datasets/{dataset.code}/records?mode=snapshot"
    body = b"\n".join(ndjson(rows[:3])) + b"\n"
    before = state(dataset)

    answer = client.post(url, body, content_type="application/x-ndjson", **auth)
    assert answer.status_code == 409, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "snapshot_deletions_unconfirmed"
    assert (problem["would_delete"], problem["live"], problem["received"]) == (7, 10, 3)
    assert "7" in problem["detail"] and "dzēs" in problem["detail"]  # Latvian first
    assert state(dataset) == before

    wrong = client.post(
        url + "&confirm_deletions=6", body, content_type="application/x-ndjson", **auth
    )
    assert wrong.status_code == 409 and wrong.json()["would_delete"] == 7
    assert state(dataset) == before

    empty = client.post(url, b"\n\n", content_type="application/x-ndjson", **auth)  # blank lines
    assert empty.status_code == 409 and empty.json()["would_delete"] == 10

    right = client.post(
        url + "&confirm_deletions=7", body, content_type="application/x-ndjson", **auth
    )
    assert right.status_code == 200, right.content
    assert (right.json()["deleted"], right.json()["received"]) == (7, 3)
    assert selectors.record_count(dataset) == 3


def test_confirm_deletions_is_documented(client):
    schema = client.get("/api/v1/openapi.json").json()
    load = schema["paths"]["/api/v1/provider/datasets/{code}/records"]["post"]
    [param] = [p for p in load["parameters"] if p["name"] == "confirm_deletions"]
    assert "exact number" in param["description"]
    assert "snapshot_deletions_unconfirmed" in load["responses"]["409"]["description"]
