"""The public, read-only catalogue API."""

from __future__ import annotations

import pytest
import yaml

from dagr.accounts.models import Institution
from dagr.catalog import services
from dagr.catalog.schema import parse_schema
from dagr.core.actors import SYSTEM
from tests.factories import PERSON_SCHEMA, make_dataset, make_institution

pytestmark = pytest.mark.django_db
BASE = "/api/v1/catalog"


@pytest.fixture
def datasets():
    provider = make_institution(name="PMLP", kind=Institution.Kind.PROVIDER)
    return {
        "persons": make_dataset(
            provider=provider, code="persons", status="production", title_en="Persons"
        ),
        "old": make_dataset(provider=provider, code="old-persons", status="production"),
        "draft": make_dataset(provider=provider, code="draft", status="sandbox"),
    }


def test_list_shows_only_public_datasets_without_authentication(client, datasets):
    services.dataset_set_status(actor=SYSTEM, dataset=datasets["old"], status="retired")
    response = client.get(f"{BASE}/datasets")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_code = {d["code"]: d for d in body["items"]}
    assert set(by_code) == {"persons", "old-persons"}
    assert by_code["old-persons"]["status"] == "retired"
    assert by_code["persons"]["provider"]["name"] == "PMLP"
    assert by_code["persons"]["schema_version"] == 1


def test_list_filters(client, datasets):
    other = make_dataset(code="land", status="production", title_lv="Zeme", title_en="Land")
    assert [d["code"] for d in client.get(f"{BASE}/datasets?q=lan").json()["items"]] == ["land"]
    reg = other.provider.registration_number
    assert [d["code"] for d in client.get(f"{BASE}/datasets?provider={reg}").json()["items"]] == [
        "land"
    ]
    page = client.get(f"{BASE}/datasets?limit=1&offset=1").json()
    assert page["count"] == 3 and len(page["items"]) == 1


def test_get_a_dataset_with_its_schema_and_identifiers(client, datasets):
    response = client.get(f"{BASE}/datasets/persons")
    assert response.status_code == 200
    body = response.json()
    assert body["title_en"] == "Persons"
    schema = body["schema"]
    assert schema["version"] == 1
    assert schema["key"] == "personal_code"
    assert schema["identifiers"] == [{"path": "personal_code", "kind": "personal_code"}]
    assert [f["name"] for f in schema["fields"]] == ["personal_code", "last_name", "birth_date"]
    assert schema["fields"][0]["personal"] is True
    assert schema["fields"][2]["required"] is False


@pytest.mark.parametrize(
    "path", ["/datasets/draft", "/datasets/nope", "/datasets/draft/schema.yaml"]
)
def test_sandbox_and_missing_datasets_are_the_same_problem_404(client, datasets, path):
    response = client.get(BASE + path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "dataset_not_found"


def test_schema_as_yaml_and_by_version(client, datasets):
    new = parse_schema(PERSON_SCHEMA).as_document()
    new["fields"][2]["title_en"] = "Date of birth"
    services.dataset_schema_update(actor=SYSTEM, dataset=datasets["persons"], schema=new)
    response = client.get(f"{BASE}/datasets/persons/schema.yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert parse_schema(yaml.safe_load(response.content)).as_document() == (
        parse_schema(new).as_document()
    )
    v1 = client.get(f"{BASE}/datasets/persons/schema.yaml?version=1").content.decode()
    assert "title_en: Birth date" in v1
    missing = client.get(f"{BASE}/datasets/persons/schema.yaml?version=7")
    assert missing.status_code == 404 and missing.json()["code"] == "schema_version_not_found"


def test_the_operations_are_public_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ["/datasets", "/datasets/{code}", "/datasets/{code}/schema.yaml"]:
        operation = spec["paths"][f"{BASE}{path}"]["get"]
        assert "security" not in operation or operation["security"] == []
        assert "(public)" in operation["summary"]
    assert "DatasetOut" in spec["components"]["schemas"]
