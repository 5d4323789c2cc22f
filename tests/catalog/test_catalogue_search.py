"""The public catalogue's search and filters (title, description, field names, provider;
provider, status, has test data, identifier kind) and the dataset page's API guide, test data
link and related help — all without login."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from dagr.accounts.models import Institution
from dagr.catalog import hooks
from dagr.catalog.api_guide import api_guide, example_record
from dagr.catalog.schema import parse_schema
from dagr.catalog.selectors import CatalogueFilters, catalogue_search
from dagr.core.identifiers import is_valid_company_code, is_valid_personal_code
from tests.factories import make_dataset, make_institution

pytestmark = pytest.mark.django_db

COMPANY_SCHEMA: dict[str, Any] = {
    "key": "registration_number",
    "fields": [
        {
            "name": "registration_number",
            "title_lv": "Reģistrācijas numurs",
            "title_en": "Registration number",
            "type": "string",
            "required": True,
            "identifier": "company_code",
        },
        {
            "name": "legal_address",
            "title_lv": "Juridiskā adrese",
            "title_en": "Legal address",
            "type": "string",
            "identifier": "address_code",
        },
        {
            "name": "board_members",
            "title_lv": "Valdes locekļi",
            "title_en": "Board members",
            "type": "list",
            "fields": [
                {
                    "name": "personal_code",
                    "title_lv": "Personas kods",
                    "title_en": "Personal code",
                    "type": "string",
                    "personal": True,
                    "identifier": "personal_code",
                },
                {"name": "since", "title_lv": "Kopš", "title_en": "Since", "type": "date"},
            ],
        },
        {
            "name": "employees",
            "title_lv": "Darbinieku skaits",
            "title_en": "Employees",
            "type": "integer",
        },
    ],
}


@pytest.fixture
def catalogue() -> dict[str, Any]:
    pmlp = make_institution(
        name="Pilsonības un migrācijas lietu pārvalde", kind=Institution.Kind.PROVIDER
    )
    ur = make_institution(name="Uzņēmumu reģistrs", kind=Institution.Kind.PROVIDER)
    return {
        "persons": make_dataset(
            provider=pmlp,
            code="iedzivotaji",
            status="production",
            title_lv="Iedzīvotāju reģistrs",
            title_en="Population register",
            description_lv="Deklarētās dzīvesvietas un personas kodi.",
            description_en="Declared residences and personal codes.",
        ),
        "companies": make_dataset(
            provider=ur,
            code="uznemumi",
            status="production",
            schema=COMPANY_SCHEMA,
            title_lv="Uzņēmumu reģistrs",
            title_en="Company register",
        ),
        "old": make_dataset(
            provider=ur,
            code="vecais",
            status="retired",
            title_lv="Vecs saraksts",
            title_en="Old list",
        ),
        "draft": make_dataset(provider=ur, code="melnraksts", status="sandbox"),
        "pmlp": pmlp,
        "ur": ur,
    }


@pytest.fixture
def test_data_of_persons(catalogue: dict[str, Any]) -> Iterator[Any]:
    """A published test dataset of the persons register (anonymisation registers these)."""
    target = make_dataset(
        provider=catalogue["pmlp"],
        code="iedzivotaji-test",
        status="sandbox",
        title_lv="Iedzīvotāju reģistrs (testa dati)",
        title_en="Population register (test data)",
    )

    def provider() -> set[int]:
        return {target.pk}

    hooks.register_open_sandbox(provider)
    yield target
    hooks.unregister_open_sandbox(provider)


def codes(**filters: Any) -> list[str]:
    return [
        e.dataset.code for e in catalogue_search(actor=None, filters=CatalogueFilters(**filters))
    ]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("iedzīvotāju", ["iedzivotaji"]),  # title
        ("IEDZIVOTAJU", ["iedzivotaji"]),  # case and diacritics ignored
        ("dzīvesvietas", ["iedzivotaji"]),  # Latvian description
        ("residences", ["iedzivotaji"]),  # English description
        ("board_members", ["uznemumi"]),  # a nested field's path
        ("valdes", ["uznemumi"]),  # a field's Latvian title
        ("migrācijas", ["iedzivotaji"]),  # the provider's name
        ("uzņēmumu", ["uznemumi", "vecais"]),  # title and provider name
        ("personas kods", ["iedzivotaji", "uznemumi", "vecais"]),  # every word, anywhere
        ("personas kods deklar", ["iedzivotaji"]),
        ("nekas tāds", []),
    ],
)
def test_search_finds_titles_descriptions_fields_and_providers(catalogue, search, expected):
    assert sorted(codes(search=search)) == sorted(expected)


def test_the_public_never_sees_a_sandbox_dataset(catalogue):
    assert "melnraksts" not in codes()
    assert codes(status="sandbox") == []


def test_filters(catalogue, test_data_of_persons):
    assert sorted(codes(provider_id=catalogue["ur"].pk)) == ["uznemumi", "vecais"]
    assert codes(status="retired") == ["vecais"]
    assert codes(identifier_kind="company_code") == ["uznemumi"]
    assert sorted(codes(identifier_kind="personal_code")) == [
        "iedzivotaji",
        "iedzivotaji-test",
        "uznemumi",
        "vecais",
    ]
    # the source and its (public) test dataset both have test data
    assert sorted(codes(has_test_data=True)) == ["iedzivotaji", "iedzivotaji-test"]
    assert codes(status="sandbox") == ["iedzivotaji-test"]
    assert codes(has_test_data=True, provider_id=catalogue["ur"].pk) == []


def test_the_catalogue_page_filters_and_says_how_many(client, catalogue, test_data_of_persons):
    page = client.get("/catalog/?q=valdes&identifier=address_code", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert "1 dataset" in html and "Company register" in html and "Population register" not in html
    assert "<code>board_members</code>" in html  # the matching field is named
    page = client.get("/catalog/?test_data=1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/test-data/iedzivotaji/"' in page and "Company register" not in page
    lv = client.get("/catalog/?q=nekas", HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Meklēšanas kritērijiem neatbilst neviena datu kopa." in lv


def test_a_bad_filter_value_is_ignored_not_an_error(client, catalogue):
    page = client.get("/catalog/?status=nope&identifier=x&provider=abc&test_data=yes")
    assert page.status_code == 200
    assert "uznemumi" in page.content.decode()


def test_the_api_guide_uses_valid_fictitious_identifiers():
    schema = parse_schema(COMPANY_SCHEMA)
    guide = api_guide(code="uznemumi", schema=schema, base_url="https://dagr.example.lv")
    by_path = {item.path: item for item in guide.identifiers}
    assert list(by_path) == ["registration_number", "legal_address", "board_members.personal_code"]
    assert is_valid_company_code(by_path["registration_number"].value)
    assert re.fullmatch(r"\d{9}", by_path["legal_address"].value)
    assert is_valid_personal_code(by_path["board_members.personal_code"].value)
    keys = [call.key for call in guide.calls]
    assert keys == [
        "token",
        "by-registration_number",
        "by-legal_address",
        "by-board_members-personal_code",
        "lookup",
        "changes",
        "export",
    ]
    by_key = {call.key: call for call in guide.calls}
    value = by_path["registration_number"].value
    assert f"https://dagr.example.lv/api/v1/data/uznemumi/records/registration_number/{value}" in (
        by_key["by-registration_number"].command
    )
    assert "X-Permission-Number: " in by_key["lookup"].command
    answer = json.loads(by_key["by-registration_number"].answer)
    record = answer["records"][0]
    assert record["registration_number"] == value
    assert isinstance(record["employees"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", record["board_members"][0]["since"])
    assert json.loads(by_key["changes"].answer)["changes"][0]["key"] == value
    assert example_record(schema.fields) == example_record(schema.fields)  # deterministic


def test_the_dataset_page_shows_the_guide_the_test_data_and_help(
    client, catalogue, test_data_of_persons
):
    html = client.get("/catalog/iedzivotaji/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Using this dataset through the API" in html
    assert "http://testserver/api/v1/data/iedzivotaji/records/personal_code/32" in html
    assert 'href="/test-data/iedzivotaji/"' in html
    # shipped help articles on the dataset's topics (loaded by knowledge's data migration)
    assert 'href="/help/call-api-curl/"' in html or 'href="/help/dataset-identifiers/"' in html
    lv = client.get("/catalog/iedzivotaji/", HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Datu kopas izmantošana caur API" in lv and "Testa dati" in lv
