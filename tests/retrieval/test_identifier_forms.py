"""One stored form per identifier kind (``dagr.core.identifiers.normalise``): a personal code
written with a hyphen (``301227-18203``) or without finds the same record in GET (the
hand-written view and its ninja twin), the batch lookup, search, record sets and the audit's
"who read"; malformed values are ``invalid``, not ``not_found``."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.test.utils import override_settings

from dagr.audit.access_selectors import who_read_summary
from dagr.catalog.models import SchemaVersion
from dagr.core.actors import SYSTEM
from dagr.core.identifiers import format_personal_code, make_old_personal_code
from dagr.monitoring import services as monitoring
from dagr.monitoring.models import RecordSetIdentifier
from dagr.records.models import Record
from dagr.records.services import records_upsert
from dagr.retrieval.datasets import dataset_cache

from .factories import SCHEMA, company, make_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"
NINJA_URLCONF = "tests.retrieval.ninja_urls"

CODE = make_old_personal_code(date(1927, 12, 30), 182)  # 30122718203-like, valid check digit
HYPHENATED = format_personal_code(CODE)  # DDMMYY-CNNNQ


@pytest.fixture
def w():
    """The company world with the board members' codes declared as personal codes, and a
    company loaded with one board member's code written with a hyphen."""
    w = make_world()
    definition = copy.deepcopy(SCHEMA)
    board = next(f for f in definition["fields"] if f["name"] == "board_members")
    board["fields"][0]["identifier"] = "personal_code"
    # a granted top-level identifier to filter on: address_code, declared a personal code here
    next(f for f in definition["fields"] if f["name"] == "address_code")["identifier"] = (
        "personal_code"
    )
    definition["fields"] = [f for f in definition["fields"] if f["name"] != "board_members"] + [
        board
    ]
    w.dataset.schema = SchemaVersion.objects.create(
        dataset=w.dataset, number=2, definition=definition
    )
    w.dataset.save(update_fields=["schema"])
    dataset_cache.invalidate()
    record = company(30)
    record["board_members"] = [{"personal_code": HYPHENATED, "role": "valdes loceklis"}]
    record["address_code"] = HYPHENATED
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[record])
    return w


def test_loading_stores_the_compact_form(w):
    data = Record.objects.get(dataset=w.dataset, key="40000000030").data
    assert data["board_members"][0]["personal_code"] == CODE
    assert HYPHENATED != CODE


@pytest.mark.parametrize("written", [CODE, HYPHENATED, f" {HYPHENATED} "])
@pytest.mark.parametrize("urlconf", [None, NINJA_URLCONF], ids=["fast", "ninja"])
def test_get_finds_the_record_in_any_written_form(client, w, written, urlconf):
    with override_settings(ROOT_URLCONF=urlconf or "config.urls"):
        response = client.get(
            f"{BASE}/{w.dataset.code}/records/board_members.personal_code/{written}",
            **w.headers(),
        )
    assert response.status_code == 200, response.content
    assert [r["registration_number"] for r in response.json()["records"]] == ["40000000030"]


@pytest.mark.parametrize("urlconf", [None, NINJA_URLCONF], ids=["fast", "ninja"])
def test_get_with_a_malformed_personal_code_is_invalid_identifier(client, w, urlconf):
    wrong = CODE[:-1] + str((int(CODE[-1]) + 1) % 10)
    with override_settings(ROOT_URLCONF=urlconf or "config.urls"):
        response = client.get(
            f"{BASE}/{w.dataset.code}/records/board_members.personal_code/{wrong}",
            **w.headers(),
        )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid_identifier"


def test_batch_lookup_normalises_and_lists_invalid_values(client, w):
    wrong = CODE[:-1] + str((int(CODE[-1]) + 1) % 10)
    missing = make_old_personal_code(date(1960, 1, 1), 5)
    response = client.post(
        f"{BASE}/{w.dataset.code}/lookup",
        {
            "field": "board_members.personal_code",
            "values": [HYPHENATED, wrong, "P-1", missing, CODE],
        },
        content_type="application/json",
        **w.headers(),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [r["registration_number"] for r in body["records"]] == ["40000000030"]
    assert body["not_found"] == [missing]
    assert body["invalid"] == [wrong, "P-1"]


def test_record_set_matches_a_hyphenated_watched_value(w):
    record_set = monitoring.record_set_create(
        actor=w.recipient_rep,
        institution_id=w.recipient.pk,
        dataset_code=w.dataset.code,
        permission_number="ATL-1",
        name="Valde",
        identifier_field="board_members.personal_code",
    )
    monitoring.record_set_identifiers_change(
        actor=w.recipient_rep, record_set=record_set, add=[HYPHENATED]
    )
    assert list(
        RecordSetIdentifier.objects.filter(record_set=record_set).values_list("value", flat=True)
    ) == [CODE]
    monitoring.record_set_identifiers_change(
        actor=w.recipient_rep, record_set=record_set, remove=[HYPHENATED]
    )
    assert not RecordSetIdentifier.objects.filter(record_set=record_set).exists()


def test_who_read_finds_the_access_in_either_form(client, w):
    client.get(
        f"{BASE}/{w.dataset.code}/records/board_members.personal_code/{HYPHENATED}",
        **w.headers(),
    )
    for written in (CODE, HYPHENATED):
        rows = who_read_summary(written)
        assert [row.institution_id for row in rows] == [w.recipient.pk]


@pytest.mark.parametrize("written", [CODE, HYPHENATED])
def test_search_filter_on_an_identifier_normalises_the_value(client, w, written):
    response = client.get(
        f"{BASE}/{w.dataset.code}/records", {"address_code": written}, **w.headers()
    )
    assert response.status_code == 200, response.content
    assert [r["registration_number"] for r in response.json()["records"]] == ["40000000030"]
