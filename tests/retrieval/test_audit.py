"""Every data request writes exactly one access audit entry with the right facts and subjects;
when the entry cannot be written, no data leaves."""

from __future__ import annotations

import pytest

from dagr.audit import access as audit_access
from dagr.audit.access import AuditUnavailable, who_read
from dagr.audit.access_selectors import grant_use_counts
from dagr.audit.models import AccessEntry
from dagr.grants.selectors import start_of_day

from .factories import GRANTED_FIELDS, make_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"


@pytest.fixture
def w():
    return make_world()


def one_new_entry(before: int) -> AccessEntry:
    entries = list(AccessEntry.objects.order_by("-id")[: AccessEntry.objects.count() - before])
    assert len(entries) == 1, entries
    return entries[0]


def test_get_is_audited_with_subjects_fields_and_caller(client, w):
    before = AccessEntry.objects.count()
    response = client.get(
        f"{BASE}/{w.dataset.code}/records/registration_number/40000000002",
        **w.headers(**{"X-Purpose": "Pārbaude lietā 12", "X-Request-ID": "req-123"}),
    )
    assert response.status_code == 200
    entry = one_new_entry(before)
    assert entry.operation == "record.get"
    assert entry.outcome == "ok" and entry.status_code == 200
    assert entry.institution_id == w.recipient.pk
    assert entry.connection_id == w.connection.pk and entry.user_id is None
    assert entry.actor_label == w.connection.client_id
    assert entry.dataset_id == w.dataset.pk and entry.dataset_code == w.dataset.code
    assert entry.grant_id == w.grant.pk and entry.permission_number == "ATL-1"
    assert entry.purpose == "Pārbaude lietā 12"
    assert entry.request_id == "req-123"
    assert entry.records_returned == 1
    assert set(entry.fields) == set(GRANTED_FIELDS) | {"board_members"}
    assert entry.duration_ms > 0
    # who read the company, its address and its board member P-2?
    for value in ("40000000002", "100000002", "P-2", "P-SHARED"):
        assert list(who_read(value)) == [entry], value


def test_not_found_outside_and_denied_are_audited_once(client, w):
    cases = [
        ("/records/registration_number/40000000021", {}, "not_found", 404),
        ("/records/registration_number/49999999999", {}, "not_found", 404),
        ("/records/registration_number/40000000002", {"number": "NOPE"}, "denied", 403),
        ("/records/registration_number/40000000002", {"number": None}, "invalid", 400),
        ("/records/name/x", {}, "invalid", 422),
    ]
    for tail, options, outcome, status in cases:
        before = AccessEntry.objects.count()
        number = options.get("number", "ATL-1")
        response = client.get(f"{BASE}/{w.dataset.code}{tail}", **w.headers(number))
        assert response.status_code == status
        entry = one_new_entry(before)
        assert (entry.outcome, entry.status_code, entry.records_returned) == (outcome, status, 0)
        assert entry.fields == []
    # The one asked for outside the grant is findable: the request itself is a fact about them.
    assert who_read("40000000021").count() == 1


def test_lookup_and_search_counts(client, w):
    before = AccessEntry.objects.count()
    client.post(
        f"{BASE}/{w.dataset.code}/lookup",
        {"field": "registration_number", "values": ["40000000001", "40000000003", "4999"]},
        content_type="application/json",
        **w.headers(),
    )
    entry = one_new_entry(before)
    assert entry.operation == "record.lookup" and entry.records_returned == 2
    assert who_read("4999").filter(pk=entry.pk).exists()  # asked for, not found
    before = AccessEntry.objects.count()
    client.get(f"{BASE}/{w.dataset.code}/records", {"limit": 5}, **w.headers())
    entry = one_new_entry(before)
    assert entry.operation == "record.search" and entry.records_returned == 5
    assert who_read("40000000005").filter(pk=entry.pk).exists()
    assert not who_read("40000000006").filter(pk=entry.pk).exists()


@pytest.mark.parametrize("where", ["audit_module", "retrieval_module"])
def test_audit_failure_returns_503_and_no_data(client, w, monkeypatch, where):
    def broken(**kwargs):
        raise AuditUnavailable()

    if where == "audit_module":
        monkeypatch.setattr(audit_access, "access_entry_record", broken)
    else:
        import dagr.retrieval.access as access

        monkeypatch.setattr(access.audit, "access_entry_record", broken)
    requests = [
        ("get", f"{BASE}/{w.dataset.code}/records/registration_number/40000000002", None),
        ("post", f"{BASE}/{w.dataset.code}/lookup",
         {"field": "registration_number", "values": ["40000000002"]}),
        ("get", f"{BASE}/{w.dataset.code}/records", None),
    ]  # fmt: skip
    for method, path, body in requests:
        if method == "get":
            response = client.get(path, **w.headers())
        else:
            response = client.post(path, body, content_type="application/json", **w.headers())
        assert response.status_code == 503, response.content
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "audit_unavailable"
        body.pop("instance")  # the request's own path
        assert "SIA Nr" not in str(body) and "4000000000" not in str(body)
        assert "records" not in body
    assert w.grant.pk not in grant_use_counts([w.grant.pk], since=start_of_day())  # none answered


def test_audit_failure_in_the_database_rolls_back_and_returns_503(
    client, w, audit_table_refuses_inserts
):
    """A real database error inside the audit write (not a stub of our code): the database
    refuses the insert into the entry's table."""
    response = client.get(
        f"{BASE}/{w.dataset.code}/records/registration_number/40000000002", **w.headers()
    )
    assert response.status_code == 503
    assert "SIA Nr" not in response.content.decode()
    assert response.json()["code"] == "audit_unavailable"


def test_subjects_are_only_identifiers_the_recipient_received(client, w):
    from tests.retrieval.factories import set_grant

    set_grant(w.grant, fields=[f for f in GRANTED_FIELDS if f != "board_members.personal_code"])
    before = AccessEntry.objects.count()
    response = client.get(
        f"{BASE}/{w.dataset.code}/records/registration_number/40000000002", **w.headers()
    )
    assert response.status_code == 200
    assert "P-2" not in response.content.decode()
    entry = one_new_entry(before)
    assert list(who_read("40000000002")) == [entry]
    # The board member's code was not served, so this access did not read person P-2.
    assert not who_read("P-2").filter(pk=entry.pk).exists()
    assert not who_read("P-SHARED").filter(pk=entry.pk).exists()


def test_address_codes_pointing_elsewhere_are_not_subjects():
    from dagr.catalog.schema import parse_schema
    from dagr.retrieval.datasets import dataset_info
    from dagr.retrieval.services import subject_paths

    def fields(*extra):
        return [
            {"name": name, "title_lv": name, "title_en": name, "type": "string",
             "identifier": kind, "required": name == extra[0][0]}
            for name, kind in extra
        ]  # fmt: skip

    class _Dataset:
        pk, code, status = 1, "x", "production"

    person = parse_schema(
        {"key": "personal_code",
         "fields": fields(("personal_code", "personal_code"), ("address", "address_code"))}
    )  # fmt: skip
    address = parse_schema(
        {"key": "code", "fields": fields(("code", "address_code"), ("owner", "personal_code"))}
    )
    assert subject_paths(dataset_info(_Dataset, person), None) == {"personal_code"}
    assert subject_paths(dataset_info(_Dataset, address), None) == {"code", "owner"}
