"""The batch lookup made fast (``dagr.retrieval.batch``, the driver-level query, the bulk subject
hashes) answers exactly as the code before it (``lookup_reference``, ``main`` at ae63740): every
request is sent once through today's service and once through the reference, each in a
transaction rolled back afterwards (so both see the same database: quotas, use counts, audit
chain), and the status, body, every header but the request's own id, and the access audit
entry written (every column but time, duration and chain position, and its subject hashes) must
be the same — in Latvian and in English."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any
from unittest import mock

import orjson
import pytest
from django.db import transaction

from dagr.audit.models import AccessEntry
from dagr.audit.subjects import unpack
from dagr.catalog.models import SchemaVersion
from dagr.core.actors import SYSTEM
from dagr.core.identifiers import format_personal_code, make_old_personal_code
from dagr.grants.cache import grant_cache
from dagr.grants.services import grant_approve, grant_request
from dagr.records.services import records_upsert
from dagr.retrieval import services
from dagr.retrieval.access import Caller
from dagr.retrieval.datasets import dataset_cache

from . import lookup_reference
from .factories import SCHEMA, World, company, make_world, set_grant

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"
# Columns that differ between any two requests, whichever code answers them.
PER_REQUEST = {"id", "at", "duration_ms", "request_id", "segment", "segment_seq", "prev_hash",
               "entry_hash"}  # fmt: skip

CODE = make_old_personal_code(date(1927, 12, 30), 182)
HYPHENATED = format_personal_code(CODE)
WRONG = CODE[:-1] + str((int(CODE[-1]) + 1) % 10)
MISSING = make_old_personal_code(date(1960, 1, 1), 5)


class _RolledBack(Exception):
    pass


def _audit_since(last_id: int) -> list[tuple[dict[str, Any], list[bytes]]]:
    out = []
    for entry in AccessEntry.objects.filter(id__gt=last_id).order_by("id"):
        columns = {
            f.attname: getattr(entry, f.attname)
            for f in AccessEntry._meta.concrete_fields
            if f.attname not in PER_REQUEST
        }
        subjects = unpack(entry.subject_hashes)  # the entry's own record of its subjects
        assert subjects == sorted(set(subjects))
        out.append((columns, subjects))
    return out


def _answer(client: Any, service: Any, url: str, body: Any, headers: dict[str, str]) -> Any:
    """Status, body and headers (request id masked) and the audit entries of one request
    through ``service``; everything it wrote is rolled back."""
    result: list[Any] = []
    last_id = AccessEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    try:
        with mock.patch.object(services, "records_lookup", service), transaction.atomic():
            with transaction.atomic():  # a database error inside (the broken audit) ends here
                response = client.post(
                    url, orjson.dumps(body), content_type="application/json", **headers
                )
            request_id = response.get("X-Request-ID", "")
            content = response.content
            if request_id:
                content = content.replace(request_id.encode(), b"<request id>")
            response_headers = {
                k.lower(): v for k, v in response.items() if k.lower() != "x-request-id"
            }
            # A quota's reset (seconds until midnight) moves with the clock between the twins.
            retry = response_headers.get("retry-after", "")
            if retry.isdigit():
                response_headers["retry-after"] = int(retry)  # type: ignore[assignment]
                content = content.replace(retry.encode(), b"<seconds>")
            if "ratelimit" in response_headers:
                limit, _, reset = response_headers["ratelimit"].rpartition(";t=")
                response_headers["ratelimit"] = limit
                response_headers["ratelimit-reset"] = int(reset) if reset.isdigit() else reset  # type: ignore[assignment]
            result = [response.status_code, content, response_headers, _audit_since(last_id)]
            raise _RolledBack
    except _RolledBack:
        pass
    return result


def assert_twins(client: Any, w: World, body: Any, number: str | None = "ATL-1", **extra: Any):
    url = f"{BASE}/{w.dataset.code}/lookup"
    for language in ("lv", "en"):
        headers = {**w.headers(number), "HTTP_ACCEPT_LANGUAGE": language, **extra}
        old = _answer(client, lookup_reference.records_lookup, url, body, headers)
        new = _answer(client, services.records_lookup, url, body, headers)
        assert new[0] == old[0]
        assert new[1] == old[1]
        for name in ("retry-after", "ratelimit-reset"):  # the same second, or the next
            if isinstance(old[2].get(name), int):
                assert 0 <= old[2][name] - new[2].pop(name) <= 1
                old[2].pop(name)
        assert new[2] == old[2]
        assert new[3] == old[3]
        assert len(new[3]) <= 1  # one entry (none for a body the API's schema refuses)
    return old


def _ok(old: Any) -> dict[str, Any]:
    assert old[0] == 200, old[1]
    assert len(old[3]) == 1 and old[3][0][0]["outcome"] in ("ok", "not_found")
    return orjson.loads(old[1])


@pytest.fixture
def w():
    return make_world()


def test_all_found(client, w):
    body = _ok(
        assert_twins(
            client,
            w,
            {
                "field": "registration_number",
                "values": ["40000000003", "40000000001", "40000000002"],
            },
        )
    )
    assert [r["registration_number"] for r in body["records"]] == [
        "40000000003", "40000000001", "40000000002"]  # fmt: skip


def test_partial_outside_the_conditions_deleted_and_missing(client, w):
    values = ["40000000003", "40000000021", "49999999999", "40000000001", "40000000023",
              "40000000022"]  # fmt: skip
    body = _ok(assert_twins(client, w, {"field": "registration_number", "values": values}))
    assert len(body["records"]) == 2 and len(body["not_found"]) == 4


def test_none_found(client, w):
    body = _ok(
        assert_twins(
            client, w, {"field": "registration_number", "values": ["49999999999", "40000000021"]}
        )
    )
    assert body["records"] == [] and body["not_found"]


def test_duplicates_numbers_and_spaces(client, w):
    values = ["40000000003", " 40000000003 ", 40000000003, "40000000001", "40000000003"]
    body = _ok(assert_twins(client, w, {"field": "registration_number", "values": values}))
    assert len(body["records"]) == 2


def test_nested_identifier(client, w):
    values = ["P-4", "P-21", "P-nobody", "P-4", "P-SHARED"]
    body = _ok(assert_twins(client, w, {"field": "board_members.personal_code", "values": values}))
    assert body["records"]


def test_a_grant_of_top_level_fields_only(client, w):
    """The compiled projection and subject extraction (no nested field granted)."""
    requested = grant_request(
        actor=w.recipient_rep, recipient=w.recipient, dataset=w.dataset,
        fields=["registration_number", "name", "address_code"],
        conditions=[{"field": "active", "op": "eq", "value": True}],
        legal_basis="Likuma 5. pants", purpose="Uzraudzība",
    )  # fmt: skip
    grant_approve(actor=w.provider_rep, grant=requested, permission_number="ATL-2")
    grant_cache.invalidate()
    values = ["40000000003", "40000000022", "49999999999", "40000000001"]
    body = _ok(assert_twins(client, w, {"field": "registration_number", "values": values},
                            number="ATL-2"))  # fmt: skip
    assert body["records"] and set(body["records"][0]) <= {"registration_number", "name",
                                                           "address_code"}  # fmt: skip


def test_address_code_lookup(client, w):
    _ok(assert_twins(client, w, {"field": "address_code", "values": ["100000003", "x"]}))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"field": "registration_number", "values": [str(n) for n in range(1001)]}, 422),
        ({"field": "registration_number", "values": []}, 422),
        ({"field": "registration_number", "values": ["   "]}, 422),
        ({"field": "registration_number", "values": ["9" * 256]}, 422),
        ({"field": "registration_number", "values": [True]}, 200),  # the schema reads 1
        ({"field": "registration_number", "values": [{"a": 1}]}, 422),
        ({"field": "registration_number"}, 422),
        ({"field": "name", "values": ["SIA"]}, 422),
        ({"field": "nothing", "values": ["1"]}, 422),
        ([1, 2], 422),
    ],
    ids=[
        "too-many",
        "none",
        "blank",
        "too-long",
        "bool",
        "object",
        "no-values",
        "not-an-identifier",
        "unknown-field",
        "not-an-object",
    ],
)
def test_invalid_requests(client, w, body, status):
    old = assert_twins(client, w, body)
    assert old[0] == status, old[1]


@pytest.mark.parametrize(
    ("number", "extra", "status"),
    [(None, {}, 400), ("NO-SUCH", {}, 403), ("ATL-1", {"HTTP_X_PURPOSE": "%E2%82"}, 400)],
    ids=["no-number", "unknown-number", "bad-purpose"],
)
def test_refused(client, w, number, extra, status):
    old = assert_twins(client, w, {"field": "registration_number", "values": ["40000000003"]},
                       number=number, **extra)  # fmt: skip
    assert old[0] == status, old[1]


def test_revoked_grant(client, w):
    set_grant(w.grant, status="revoked")
    old = assert_twins(client, w, {"field": "registration_number", "values": ["40000000003"]})
    assert old[0] == 403, old[1]


def test_with_a_quota_and_over_it(client):
    w = make_world(quota=2)
    body = {"field": "registration_number", "values": ["40000000003", "49999999999"]}
    _ok(assert_twins(client, w, body))  # counted in the same transaction as the read
    client.post(f"{BASE}/{w.dataset.code}/lookup", orjson.dumps(body),
                content_type="application/json", **w.headers())  # fmt: skip
    client.post(f"{BASE}/{w.dataset.code}/lookup", orjson.dumps(body),
                content_type="application/json", **w.headers())  # fmt: skip
    old = assert_twins(client, w, body)
    assert old[0] == 429, old[1]


def test_audit_unavailable(client, w, audit_table_refuses_inserts):
    old = assert_twins(client, w, {"field": "registration_number", "values": ["40000000003"]})
    assert old[0] == 503, old[1]


@pytest.fixture
def personal(w):
    """Board members' codes and the address code declared personal codes (as in
    ``test_identifier_forms``), one company with a hyphenated code."""
    definition = copy.deepcopy(SCHEMA)
    board = next(f for f in definition["fields"] if f["name"] == "board_members")
    board["fields"][0]["identifier"] = "personal_code"
    next(f for f in definition["fields"] if f["name"] == "address_code")["identifier"] = (
        "personal_code"
    )
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


@pytest.mark.parametrize("field", ["board_members.personal_code", "address_code"])
def test_personal_codes_written_forms_and_wrong_check_digits(client, personal, field):
    spaced = f"{CODE[:2]} {CODE[2:6]}-{CODE[6:]}"
    values = [HYPHENATED, WRONG, "P-1", MISSING, CODE, f" {HYPHENATED} ", WRONG, spaced]
    body = _ok(assert_twins(client, personal, {"field": field, "values": values}))
    assert body["invalid"] == [WRONG, "P-1"] and body["not_found"] == [MISSING]


def _service_call(service: Any, w: World, values: Any) -> Any:
    last_id = AccessEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    outcome: list[Any] = []
    try:
        with transaction.atomic():
            try:
                result = service(
                    caller=Caller(institution_id=w.recipient.pk, connection_id=w.connection.pk,
                                  label="x"),
                    dataset_code=w.dataset.code, permission_number="ATL-1",
                    field="board_members.personal_code", values=values,
                )  # fmt: skip
                outcome = [result.records, result.not_found, result.invalid, result.fields]
            except Exception as exc:  # compared below
                outcome = [type(exc), str(exc), getattr(exc, "errors", None)]
            outcome.append(_audit_since(last_id))
            raise _RolledBack
    except _RolledBack:
        pass
    return outcome


@pytest.mark.parametrize(
    "values",
    [
        ["P-4", True],
        ["P-4", "  "],
        ["P-4", "9" * 256],
        ["P-4", "a\x00b"],
        ["P-4", None],
        ["P-4", 4.0],
        "P-4",
        [str(n) for n in range(1001)],
        ["P-4", 7, " P-4", "P-21"],
    ],
)
def test_the_service_alone_on_input_the_api_refuses_earlier(personal, values):
    """Input the API's schema never lets through (the data viewer and other callers may):
    the same errors at the same location, or the same answer, and the same audit entry."""
    old = _service_call(lookup_reference.records_lookup, personal, values)
    new = _service_call(services.records_lookup, personal, values)
    assert new == old
