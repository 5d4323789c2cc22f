"""How a purpose travels in ``X-Purpose`` (``dagr.core.purpose``): percent-encoded UTF-8, raw
UTF-8 bytes accepted, anything undecodable refused with 400 ``invalid_purpose`` — never served
and never audited as an empty purpose. The ninja operations, the hand-written hot path and the
record sets' feed read it alike."""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest

from dagr.audit.models import AccessEntry
from dagr.core.purpose import InvalidPurpose, purpose_from_header
from tests.monitoring.record_set_helpers import make_set, watch

from .factories import make_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"
LATVIAN = "Nodokļu administrēšana"
ENCODED = "Nodok%C4%BCu%20administr%C4%93%C5%A1ana"


def wire(text: str) -> str:
    """A header value as a WSGI server hands raw UTF-8 bytes over: decoded as latin-1."""
    return text.encode("utf-8").decode("latin-1")


@pytest.mark.parametrize(
    ("header", "purpose"),
    [
        (None, ""),
        ("", ""),
        ("Audit", "Audit"),
        (ENCODED, LATVIAN),
        (quote(LATVIAN, safe=""), LATVIAN),
        (wire(LATVIAN), LATVIAN),  # raw UTF-8 bytes
        ("100% sure", "100% sure"),  # a % without two hex digits stays
        ("a%2Fb%25", "a/b%"),
        ("x" * 255, "x" * 255),
    ],
)
def test_header_values_that_are_read(header, purpose):
    assert quote(LATVIAN, safe="") == ENCODED
    assert purpose_from_header(header) == purpose


@pytest.mark.parametrize(
    "header",
    [
        "%E2%82",  # a UTF-8 sequence cut short
        "%FF",
        "caf\xe9",  # a raw latin-1 byte that is not UTF-8
        "a%00b",
        "line%0Abreak",
        "tab\there",
        "x" * 256,
        "%C4%BC" * 256,
    ],
)
def test_header_values_that_are_refused(header):
    with pytest.raises(InvalidPurpose) as caught:
        purpose_from_header(header)
    assert caught.value.code == "invalid_purpose" and caught.value.status == 400


@pytest.fixture
def w():
    return make_world()


def last_entry() -> AccessEntry:
    return AccessEntry.objects.order_by("-id").first()  # type: ignore[return-value]


GET_ONE = "/records/registration_number/40000000002"  # the hand-written hot path
SEARCH = "/records?limit=2"  # ninja


@pytest.mark.parametrize("path", [GET_ONE, SEARCH, "/changes?limit=2", "/export?format=ndjson"])
@pytest.mark.parametrize("header", [ENCODED, wire(LATVIAN)])
def test_a_latvian_purpose_is_audited_exactly(client, w, path, header):
    response = client.get(f"{BASE}/{w.dataset.code}{path}", **w.headers(**{"X-Purpose": header}))
    assert response.status_code == 200, response.content
    if path.startswith("/export"):
        b"".join(response.streaming_content)
    assert last_entry().purpose == LATVIAN


def test_a_lookup_carries_the_purpose_too(client, w):
    response = client.post(
        f"{BASE}/{w.dataset.code}/lookup",
        orjson.dumps({"field": "registration_number", "values": ["40000000002"]}),
        content_type="application/json",
        **w.headers(**{"X-Purpose": ENCODED}),
    )
    assert response.status_code == 200, response.content
    assert last_entry().purpose == LATVIAN


@pytest.mark.parametrize("path", [GET_ONE, SEARCH, "/changes", "/export"])
@pytest.mark.parametrize("header", ["%E2%82", "caf\xe9", "a%0Ab", "x" * 256])
def test_an_undecodable_purpose_is_a_400_and_nothing_is_served_or_audited(client, w, path, header):
    before = AccessEntry.objects.count()
    response = client.get(f"{BASE}/{w.dataset.code}{path}", **w.headers(**{"X-Purpose": header}))
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_purpose" and body["title"] and body["detail"]
    assert "records" not in body and "changes" not in body
    assert AccessEntry.objects.count() == before


def test_the_refusal_is_bilingual(client, w):
    url = f"{BASE}/{w.dataset.code}{GET_ONE}"
    lv = client.get(url, **w.headers(**{"X-Purpose": "%E2%82"}), HTTP_ACCEPT_LANGUAGE="lv")
    en = client.get(url, **w.headers(**{"X-Purpose": "%E2%82"}), HTTP_ACCEPT_LANGUAGE="en")
    assert lv.json()["title"] != en.json()["title"]
    assert "UTF-8" in lv.json()["detail"] and "UTF-8" in en.json()["detail"]


def test_the_record_sets_feed_audits_the_purpose(client, w):
    record_set = make_set(w)
    watch(w, record_set, "40000000002")
    url = f"/api/v1/record-sets/{record_set.pk}/changes"
    response = client.get(url, **w.headers(None, **{"X-Purpose": ENCODED}))
    assert response.status_code == 200, response.content
    entry = last_entry()
    assert entry.operation == "record_set.changes" and entry.purpose == LATVIAN
    before = AccessEntry.objects.count()
    refused = client.get(url, **w.headers(None, **{"X-Purpose": "%E2%82"}))
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_purpose"
    assert AccessEntry.objects.count() == before
