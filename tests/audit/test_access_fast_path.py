"""The access audit's one-transaction paths outside any transaction of the caller (the data API's
hot path): PostgreSQL's compare-and-set statement and SQLite's driver-level transaction. They
run only when the process already knows its segment's head and no transaction is open, so these
tests commit for real (``transactional_db``)."""

from __future__ import annotations

import pytest
from django.db import connection

from dagr.audit import access
from dagr.audit.models import AccessEntry, AccessSegment, AccessSubject

pytestmark = pytest.mark.django_db(transaction=True)


def write(i: int) -> AccessEntry:
    return access.access_entry_write(
        operation="record.get",
        outcome="ok",
        dataset_id=1,
        dataset_code="persons",
        institution_id=7,
        connection_id=9,
        identifiers=[f"3200000{i:04d}", f"3200000{i:04d}"],
        records_returned=1,
        fields=["first_name"],
        request_id=f"req-{i}",
    )


def refuse_inserts() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION dagr_refuse_audit() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'audit storage unavailable'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER dagr_refuse_audit BEFORE INSERT ON audit_accessentry "
                "FOR EACH ROW EXECUTE FUNCTION dagr_refuse_audit()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER dagr_refuse_audit BEFORE INSERT ON audit_accessentry "
                "BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END"
            )


def accept_inserts() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER dagr_refuse_audit" + (
            " ON audit_accessentry" if connection.vendor == "postgresql" else ""
        ))  # fmt: skip
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION dagr_refuse_audit()")


@pytest.fixture(autouse=True)
def fresh_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "_segment", None)


def test_entries_after_the_first_take_the_fast_path_and_keep_one_intact_chain(monkeypatch):
    general = []
    insert = access._insert
    monkeypatch.setattr(access, "_insert", lambda *a: general.append(1) or insert(*a))
    entries = [write(i) for i in range(5)]
    assert len(general) == 1  # only the first entry read the head from the database
    assert not connection.in_atomic_block
    assert [e.segment_seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(entries[i].prev_hash == entries[i - 1].entry_hash for i in range(1, 5))
    stored = list(AccessEntry.objects.order_by("id").values_list("request_id", "entry_hash"))
    assert stored == [(f"req-{i}", e.entry_hash) for i, e in enumerate(entries)]
    head = AccessSegment.objects.get(segment=entries[0].segment)
    assert (head.last_seq, head.last_hash) == (5, entries[-1].entry_hash)
    packed = AccessEntry.objects.values_list("subject_hashes", flat=True)
    assert [len(p) for p in packed] == [16] * 5  # one distinct value per entry
    assert not AccessSubject.objects.exists()  # the index is the worker's, after commit
    report = access.audit_verify()
    assert report.ok, report.problems
    assert report.entries == 5


def test_a_refused_write_raises_audit_unavailable_leaves_nothing_and_the_chain_goes_on():
    first = write(0)
    refuse_inserts()
    try:
        with pytest.raises(access.AuditUnavailable):
            write(1)
    finally:
        accept_inserts()
    assert AccessEntry.objects.count() == 1
    head = AccessSegment.objects.get(segment=first.segment)
    assert (head.last_seq, head.last_hash) == (1, first.entry_hash)  # the head did not move
    second = write(2)
    third = write(3)  # the fast path again
    assert (second.segment_seq, second.prev_hash) == (2, first.entry_hash)
    assert (third.segment_seq, third.prev_hash) == (3, second.entry_hash)
    report = access.audit_verify()
    assert report.ok, report.problems


def test_a_head_moved_behind_the_process_is_read_again():
    """The in-memory head is a guess: when the database holds another one (here: the segment's
    entries were removed and the head row reset), the write falls back to reading it."""
    first = write(0)
    AccessSubject.objects.all().delete()
    AccessEntry.objects.all().delete()
    AccessSegment.objects.filter(segment=first.segment).delete()
    again = write(1)
    assert (again.segment_seq, again.prev_hash) == (1, "0" * 64)
    assert AccessSegment.objects.get(segment=first.segment).last_hash == again.entry_hash
