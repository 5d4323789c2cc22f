"""Streamed export: CSV and NDJSON contents, formula safety, one audit entry at the end."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dagr.audit import access as audit_access
from dagr.audit.access import AuditUnavailable, who_read
from dagr.audit.models import AccessEntry
from dagr.records import queries
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def export(client, w, fmt: str):
    return client.get(f"/api/v1/data/{w.dataset.code}/export", {"format": fmt}, **w.headers())


def test_ndjson_has_every_visible_record_with_granted_fields(client, w):
    before = AccessEntry.objects.count()
    response = export(client, w, "ndjson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [r["registration_number"] for r in lines] == [f"4000{n:07d}" for n in range(1, 21)]
    assert all("secret_note" not in r for r in lines)
    assert all("salary" not in m for r in lines for m in r["board_members"])
    entry = AccessEntry.objects.get(pk__gt=0, operation="record.export")
    assert AccessEntry.objects.count() == before + 1
    assert entry.records_returned == 20 and entry.outcome == "ok"
    assert who_read("40000000007").filter(pk=entry.pk).exists()
    assert not who_read("40000000021").filter(pk=entry.pk).exists()


def test_csv_is_formula_safe_and_has_granted_columns(client, w):
    response = export(client, w, "csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(
        c if isinstance(c, bytes) else c.encode() for c in response.streaming_content
    ).decode()
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header == [
        "registration_number", "name", "employees", "founded", "active", "city", "address_code",
        "board_members",
    ]  # fmt: skip
    assert len(body) == 20
    assert body[0][1] == "'=SUM(A1) SIA Nr 1"  # never a live formula
    assert json.loads(body[0][7]) == [
        {"personal_code": "P-1", "role": "valdes priekšsēdētājs"},
        {"personal_code": "P-SHARED", "role": "valdes loceklis"},
    ]
    assert "secret" not in text and "5000" not in text


def test_stream_failure_midway_is_audited_as_error(client, w, monkeypatch):
    calls = {"n": 0}
    real = queries.records_page

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("connection lost")
        return real(**kwargs)

    import dagr.retrieval.export as export_module

    monkeypatch.setattr(export_module, "EXPORT_BATCH", 5)
    monkeypatch.setattr(queries, "records_page", flaky)
    response = export(client, w, "ndjson")
    with pytest.raises(RuntimeError):
        b"".join(response.streaming_content)
    entries = AccessEntry.objects.filter(operation="record.export").order_by("id")
    assert [(e.outcome, e.records_returned) for e in entries] == [("ok", 5), ("error", 0)]


def test_every_exported_page_is_audited_before_it_is_sent(client, w, monkeypatch):
    import dagr.retrieval.export as export_module

    monkeypatch.setattr(export_module, "EXPORT_BATCH", 5)
    response = export(client, w, "ndjson")
    body = b"".join(response.streaming_content)
    entries = list(AccessEntry.objects.filter(operation="record.export").order_by("id"))
    assert sum(e.records_returned for e in entries) == len(body.splitlines()) > 5
    assert all(e.records_returned <= 5 and e.outcome == "ok" for e in entries)


def test_a_page_whose_audit_fails_is_never_sent(client, w, monkeypatch):
    import dagr.retrieval.export as export_module

    monkeypatch.setattr(export_module, "EXPORT_BATCH", 5)
    real = audit_access.access_entry_record
    calls = {"n": 0}

    def fails_second_time(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise AuditUnavailable()
        return real(**kwargs)

    monkeypatch.setattr(audit_access, "access_entry_record", fails_second_time)
    response = export(client, w, "ndjson")
    received: list[bytes] = []
    with pytest.raises(AuditUnavailable):
        for chunk in response.streaming_content:
            received.append(chunk)
    assert len(b"".join(received).splitlines()) <= 5  # only the audited first page, at most


def test_audit_failure_at_the_end_never_completes_the_download(client, w, monkeypatch):
    def broken(**kwargs):
        raise AuditUnavailable()

    response = export(client, w, "ndjson")
    monkeypatch.setattr(audit_access, "access_entry_record", broken)
    received = []
    with pytest.raises(AuditUnavailable):
        for chunk in response.streaming_content:
            received.append(chunk)
    assert received == []  # the first page's entry failed: nothing was sent


def test_bad_format_and_missing_grant(client, w):
    response = client.get(f"/api/v1/data/{w.dataset.code}/export", {"format": "xml"}, **w.headers())
    assert response.status_code == 422
    response = client.get(
        f"/api/v1/data/{w.dataset.code}/export", {"format": "csv"}, **w.headers("NOPE")
    )
    assert response.status_code == 403
    assert AccessEntry.objects.filter(operation="record.export", outcome="denied").count() == 1
