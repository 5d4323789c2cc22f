"""The access audit: hash chains that reveal edits and deletions; keyed subject hashes."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dagr.audit import access
from dagr.audit.models import AccessEntry, AccessSegment, AccessSubject
from dagr.audit.subjects import unpack

pytestmark = pytest.mark.django_db
PERSON = "120389-11236"


def write(n: int = 3) -> list[AccessEntry]:
    return [
        access.access_entry_write(
            operation="get",
            outcome="ok",
            dataset_id=1,
            dataset_code="persons",
            institution_id=7,
            connection_id=9,
            identifiers=[PERSON if i == 1 else f"3200000{i:04d}"],
            records_returned=1,
            fields=["first_name"],
        )
        for i in range(n)
    ]


def test_chain_is_intact_and_subjects_are_hashed():
    write(3)
    report = access.audit_verify()
    assert report.ok, report.problems
    assert report.entries == 3
    packed = [bytes(p) for p in AccessEntry.objects.values_list("subject_hashes", flat=True)]
    assert all(len(p) == 16 for p in packed)  # one identifier per entry
    stored = [h for p in packed for h in unpack(p)]
    assert stored and all(len(h) == 16 for h in stored)
    raw = b"".join(stored)
    assert PERSON.replace("-", "").encode() not in raw and PERSON.encode() not in raw
    assert access.who_read("12038911236").count() == 1
    assert access.who_read(" 120389-11236 ").count() == 1
    assert access.who_read("32000009999").count() == 0


def test_edited_entry_is_detected():
    entries = write(3)
    AccessEntry.objects.filter(pk=entries[1].pk).update(records_returned=500)
    report = access.audit_verify()
    assert not report.ok
    assert [(p.code, p.message.split(":")[0][-2:]) for p in report.problems] == [
        ("content_changed", "#2")
    ]


def test_deleted_entry_in_the_middle_and_at_the_end_are_detected():
    entries = write(4)
    AccessEntry.objects.filter(pk=entries[1].pk).delete()
    report = access.audit_verify()
    assert "entry_missing" in report.codes() and "tail_missing" not in report.codes()
    AccessEntry.objects.filter(pk=entries[3].pk).delete()
    assert "tail_missing" in access.audit_verify().codes()


def test_verify_command_exit_status():
    entries = write(2)
    call_command("audit", "verify")
    AccessEntry.objects.filter(pk=entries[0].pk).update(operation="export")
    with pytest.raises(CommandError):
        call_command("audit", "verify")


def test_failed_audit_write_raises_audit_unavailable(audit_table_refuses_inserts):
    from django.db import transaction

    with pytest.raises(access.AuditUnavailable) as exc, transaction.atomic():
        write(1)
    assert exc.value.status == 503
    assert AccessSegment.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_rolled_back_outer_transaction_does_not_break_the_chain():
    from django.db import transaction

    write(1)
    with pytest.raises(RuntimeError), transaction.atomic():
        write(1)
        raise RuntimeError
    write(1)
    report = access.audit_verify()
    assert report.ok, report.problems
    assert report.entries == 2
    assert connection.vendor in {"sqlite", "postgresql"}


def test_who_read_search_is_itself_recorded_without_the_identifier():
    from dagr.audit.models import AdminEntry
    from dagr.audit.services import who_read_search
    from tests.factories import make_admin

    write(2)
    admin = make_admin()
    summary = who_read_search(actor=admin, identifier=PERSON)
    assert sum(row.accesses for row in summary) == 1
    entry = AdminEntry.objects.get(action="audit.subject.searched")
    assert entry.actor_id == admin.pk
    assert entry.target_id == access.subject_hash(PERSON).hex()
    stored = str(entry.changes) + entry.target_label + entry.target_id
    assert "120389" not in stored and "11236" not in stored


def test_one_statement_per_entry_on_postgresql_once_the_head_is_known():
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the compare-and-set statement is PostgreSQL's (data-modifying CTEs)")
    write(1)
    with CaptureQueriesContext(connection) as queries:
        write(1)
    assert len(queries) == 1 and queries[0]["sql"].startswith("WITH h AS (UPDATE")
    report = access.audit_verify()
    assert report.ok, report.problems
    assert access.who_read(PERSON).count() == 0
    assert [len(p) for p in AccessEntry.objects.values_list("subject_hashes", flat=True)] == [
        16
    ] * 2
    assert not AccessSubject.objects.exists()  # the index is the worker's, after commit


def test_a_rolled_back_entry_does_not_break_the_chain():
    """The in-memory head is only a guess: after an outer transaction with an audit entry rolls
    back, or the heads were emptied, the next entry links to what the database holds."""
    from django.db import transaction

    write(2)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        write(1)
        raise Undo
    write(2)
    report = access.audit_verify()
    assert report.ok, report.problems
    assert report.entries == 4
    AccessSegment.objects.all().delete()
    AccessEntry.objects.all().delete()
    write(2)
    report = access.audit_verify()
    assert report.ok, report.problems
    assert list(AccessEntry.objects.order_by("id").values_list("segment_seq", flat=True)) == [1, 2]
