"""The public test data API, and a sandbox grant on a test dataset through the normal data API."""

from __future__ import annotations

from typing import Any

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.anonymisation import services
from dagr.anonymisation.models import Release, TestDataset
from dagr.connections.services import connection_create
from dagr.connections.tokens import connection_states
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict
from dagr.grants.cache import grant_cache
from dagr.grants.services import grant_approve, grant_request
from dagr.records.models import Record
from dagr.records.services import records_upsert
from dagr.retrieval.datasets import dataset_cache
from tests.anonymisation.conftest import decade_settings, persons
from tests.factories import make_institution, make_user
from tests.retrieval.factories import token_for

pytestmark = pytest.mark.django_db(transaction=True)


def publish(world: Any) -> Release:
    services.settings_update(
        actor=world.user, dataset=world.dataset, **decade_settings(world.dataset)
    )
    release = services.release_request(actor=world.user, datasets=[world.dataset])
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    return release


def test_list_and_detail_need_no_token(world, client):
    assert client.get("/api/v1/test-data/").json() == []
    release = publish(world)
    listed = client.get("/api/v1/test-data/").json()
    assert [(d["code"], d["test_dataset_code"], d["release"]) for d in listed] == [
        ("iedzivotaji", "iedzivotaji-test", release.number)
    ]
    detail = client.get("/api/v1/test-data/iedzivotaji").json()
    assert detail["privacy_report"]["passed"] is True
    assert {f["path"] for f in detail["fields"]} == {"personal_code", "last_name", "birth_date"}
    assert detail["csv_url"].endswith("/test-data/iedzivotaji.csv")


def test_unknown_and_unpublished_are_problem_404(world, client):
    for path in (
        "/api/v1/test-data/nav-tadas",
        "/api/v1/test-data/iedzivotaji",
        "/api/v1/test-data/iedzivotaji/records",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == "test_data_not_found"


def test_records_page_through_with_cursor_and_link(world, client):
    publish(world)
    seen: list[str] = []
    url, params = "/api/v1/test-data/iedzivotaji/records", {"limit": 7}
    pages = 0
    while True:
        response = client.get(url, params)
        assert response.status_code == 200
        body = response.json()
        seen += [r["personal_code"] for r in body["records"]]
        pages += 1
        if not body["next_cursor"]:
            assert "Link" not in response
            break
        assert 'rel="next"' in response["Link"] and body["next_cursor"] in response["Link"]
        params = {"limit": 7, "cursor": body["next_cursor"]}
    assert pages == 5 and len(seen) == len(set(seen)) == 30
    test = TestDataset.objects.get(source=world.dataset).target
    assert set(seen) == set(
        Record.objects.filter(dataset=test, deleted_at=None).values_list("key", flat=True)
    )
    assert client.get(url, {"cursor": "nav-kursors"}).json()["code"] == "invalid_cursor"
    assert client.get(url, {"limit": 0}).status_code == 422


def test_a_sandbox_grant_on_the_test_dataset_works_through_the_data_api(world, client):
    publish(world)
    test = TestDataset.objects.get(source=world.dataset).target
    assert test.status == "sandbox"
    recipient = make_institution(kind=Institution.Kind.RECIPIENT)
    rep = make_user(institution=recipient, roles=(Membership.Role.RECIPIENT,))
    grant = grant_approve(
        actor=world.user,
        grant=grant_request(
            actor=rep,
            recipient=recipient,
            dataset=test,
            fields=["personal_code", "last_name"],
            legal_basis="Testēšana",
            purpose="Integrācijas testi",
        ),
        permission_number="TEST-1",
    )
    connection, _secret = connection_create(
        actor=rep, institution=recipient, name="Testa sistēma", kind="recipient"
    )
    grant_cache.invalidate()
    dataset_cache.invalidate()
    connection_states.invalidate()
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token_for(connection)}",
        "HTTP_X_PERMISSION_NUMBER": grant.permission_number,
    }
    response = client.get(f"/api/v1/data/{test.code}/records", {"limit": 100}, **headers)
    assert response.status_code == 200, response.content
    served = response.json()["records"]
    assert len(served) == 30 and set(served[0]) == {"personal_code", "last_name"}
    one = served[0]["personal_code"]
    by_key = client.get(f"/api/v1/data/{test.code}/records/personal_code/{one}", **headers)
    assert by_key.status_code == 200
    # the source dataset's records are not what the test dataset serves
    originals = set(Record.objects.filter(dataset=world.dataset).values_list("key", flat=True))
    assert not originals & {r["personal_code"] for r in served}


def test_other_sandbox_datasets_stay_closed_to_grants(world):
    from tests.factories import make_dataset

    closed = make_dataset(provider=world.provider, code="smilskaste")
    records_upsert(actor=SYSTEM, dataset=closed, records=persons(3))
    recipient = make_institution(kind=Institution.Kind.RECIPIENT)
    rep = make_user(institution=recipient, roles=(Membership.Role.RECIPIENT,))
    with pytest.raises(Conflict):
        grant_request(
            actor=rep,
            recipient=recipient,
            dataset=closed,
            fields=["personal_code"],
            legal_basis="x",
            purpose="y",
        )
