"""The access audit's subjects: packed in the entry's own row (the durable record, covered by the
chain digest) and indexed in ``AccessSubject`` after commit by the worker's job
(``dagr.audit.subjects``). "Who read" must be complete before, during and after indexing; the
job must never pass an entry that commits later with a lower id; ``dagr audit verify`` checks
the index against the entries."""

from __future__ import annotations

import importlib
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction

from dagr.audit import access, integrity, subjects
from dagr.audit.access_selectors import who_read_summary
from dagr.audit.models import AccessEntry, AccessSubject, AccessSubjectIndex

pytestmark = pytest.mark.django_db

PERSON = "120389-11236"


def write(*values: str, request_id: str = "") -> AccessEntry:
    return access.access_entry_write(
        operation="record.lookup",
        outcome="ok",
        dataset_id=1,
        dataset_code="persons",
        institution_id=7,
        identifiers=list(values),
        records_returned=len(values),
        fields=["first_name"],
        request_id=request_id,
    )


def found(value: str) -> set[int]:
    return set(access.who_read(value).values_list("pk", flat=True))


def index_rows() -> list[tuple[int, bytes]]:
    return sorted(
        (e, bytes(h)) for e, h in AccessSubject.objects.values_list("entry_id", "subject_hash")
    )


def test_the_entry_holds_its_sorted_subjects_and_the_request_writes_no_index_row():
    entry = write(PERSON, "32000000001", "32000000001", "")
    packed = bytes(AccessEntry.objects.get(pk=entry.pk).subject_hashes)
    expected = access.subject_hashes([PERSON, "32000000001"])
    assert packed == b"".join(expected) and len(packed) == 32
    assert entry.subject_hashes == packed  # the returned entry as stored
    assert subjects.unpack(packed) == sorted(expected)
    assert not AccessSubject.objects.exists()
    empty = write()
    assert bytes(AccessEntry.objects.get(pk=empty.pk).subject_hashes) == b""


def test_who_read_finds_entries_before_and_after_indexing_and_with_the_job_stopped():
    first = write(PERSON, "32000000001")
    second = write("32000000002")
    assert found(PERSON) == {first.pk}  # nothing indexed: found by the scan
    assert found("120389 11236") == {first.pk}
    run = subjects.subject_index_run()
    assert (run.entries, run.subjects, run.indexed_to) == (2, 3, second.pk)
    assert subjects.indexed_to() == second.pk
    assert index_rows() == sorted(
        [(first.pk, h) for h in access.subject_hashes([PERSON, "32000000001"])]
        + [(second.pk, access.subject_hash("32000000002"))]
    )
    third = write(PERSON)  # the job "stopped": above the watermark
    assert found(PERSON) == {first.pk, third.pk}  # index + scan, each entry once
    assert access.who_read(PERSON).count() == 2
    assert found("32000000002") == {second.pk}
    assert found("32000000009") == set()
    rows = who_read_summary(PERSON)
    assert [r.accesses for r in rows] == [2]
    subjects.subject_index_run()
    assert found(PERSON) == {first.pk, third.pk}
    assert subjects.indexed_to() == third.pk


def test_a_match_across_two_hashes_is_not_a_subject():
    entry = write(PERSON, "32000000001")
    a, b = subjects.unpack(AccessEntry.objects.get(pk=entry.pk).subject_hashes)
    straddling = a[8:] + b[:8]
    assert not AccessEntry.objects.filter(subjects.entries_with_subject(straddling)).exists()
    assert AccessEntry.objects.filter(subjects.entries_with_subject(b)).get() == entry


def test_the_index_job_is_idempotent_and_batched(settings: Any):
    entries = [write(f"3200000{i:04d}", PERSON) for i in range(7)]
    settings.AUDIT_SUBJECT_INDEX_SUBJECTS = 4  # two entries per transaction
    run = subjects.subject_index_run(batch=3)
    assert (run.entries, run.subjects, run.indexed_to) == (7, 14, entries[-1].pk)
    rows = index_rows()
    assert len(rows) == 14
    again = subjects.subject_index_run()
    assert (again.entries, again.subjects, again.indexed_to) == (0, 0, entries[-1].pk)
    assert index_rows() == rows
    # A run interrupted after its rows but before the watermark (or rows left by any earlier
    # writer) is repaired: the range's rows are replaced, never doubled.
    AccessSubjectIndex.objects.update(indexed_to=entries[2].pk)
    subjects.subject_index_run()
    assert index_rows() == rows
    assert found(PERSON) == {e.pk for e in entries}
    assert integrity.audit_verify().ok


def test_on_sqlite_the_job_paces_its_batches_so_requests_get_the_write_lock(
    settings: Any, monkeypatch: Any
):
    """SQLite has one write lock: between two batches the job pauses (twice as long as the batch
    held the lock), and it sizes the next batch to hold the lock ``SQLITE_HOLD_S``."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's writers do not wait for the job's transaction")
    entries = [write(f"3200000{i:04d}", PERSON) for i in range(7)]
    settings.AUDIT_SUBJECT_INDEX_SUBJECTS = 4  # two entries per transaction: four batches
    pauses: list[float] = []
    import time

    monkeypatch.setattr(
        subjects, "time", SimpleNamespace(perf_counter=time.perf_counter, sleep=pauses.append)
    )
    run = subjects.subject_index_run(batch=3)
    assert (run.entries, run.indexed_to) == (7, entries[-1].pk)
    assert len(pauses) == 3 and all(0 < p <= 0.5 for p in pauses)  # between the four batches
    settings.AUDIT_SUBJECT_INDEX_SUBJECTS = 20_000
    # held 20× too long (``SQLITE_HOLD_S`` is 4 ms): a batch a twentieth as large next time
    assert subjects._sqlite_next(20_000, 4_000, 0.080) == (200, 0.160)
    assert subjects._sqlite_next(1_000, 1_000, 0.0001)[0] == 20_000  # never above the setting
    assert subjects._sqlite_next(1_000, 1_000, 5.0) == (subjects.SQLITE_MIN_SUBJECTS, 0.5)
    assert subjects._sqlite_next(700, 0, 0.001)[0] == 700  # an empty batch keeps the size


def test_a_batch_reads_no_more_entries_than_it_may_index(settings: Any, monkeypatch: Any):
    """An entry holds at least one subject (or none), so a batch of at most N subjects needs at
    most N entries: reading the whole ``batch`` to index a few dozen (SQLite's small batches)
    made the job's CPU per subject 2.5 times as high."""
    for i in range(3):
        write(f"3200000{i:04d}", PERSON)
    monkeypatch.setattr(subjects, "time", SimpleNamespace(perf_counter=lambda: 0.0, sleep=id))
    limits: list[int] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "ORDER BY id LIMIT" in sql:
            limits.append(params[-1])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        subjects.subject_index_run()
    subject_limit = (
        subjects.SQLITE_FIRST_SUBJECTS
        if connection.vendor == "sqlite"
        else settings.AUDIT_SUBJECT_INDEX_SUBJECTS
    )
    assert limits == [min(settings.AUDIT_SUBJECT_INDEX_BATCH, subject_limit)]
    assert subjects.index_lag()[0] == 0


def test_index_command_and_periodic_job(capsys: Any):
    entry = write(PERSON)
    assert "dagr.audit.subjects.subject_index_periodic" in settings.DAGR_PERIODIC_JOBS
    assert subjects.index_lag()[0] == 1 and subjects.index_lag_seconds() >= 0
    call_command("audit", "index-subjects")
    assert f"#{entry.pk}" in capsys.readouterr().out
    assert subjects.index_lag() == (0, entry.pk) and subjects.index_lag_seconds() == 0.0
    write(PERSON)
    subjects.subject_index_periodic()
    assert subjects.index_lag()[0] == 0


def test_verify_checks_the_index_against_the_entries():
    entries = [write(PERSON, f"3200000{i:04d}") for i in range(3)]
    subjects.subject_index_run()
    assert integrity.audit_verify().ok
    # an index row naming a subject the entry does not hold
    row = AccessSubject.objects.filter(entry_id=entries[1].pk).first()
    row.subject_hash = access.subject_hash("32000009999")
    row.save()
    assert integrity.audit_verify().codes() == ["index_foreign"]
    # an index row of another entry's subject moved to this one
    row.subject_hash = access.subject_hash("32000000002")
    row.save()
    assert integrity.audit_verify().codes() == ["index_foreign"]
    # an indexed entry with a subject missing from the index
    row.delete()
    assert integrity.audit_verify().codes() == ["index_incomplete"]
    # rebuilding the range repairs it
    AccessSubjectIndex.objects.update(indexed_to=0)
    subjects.subject_index_run()
    assert integrity.audit_verify().ok
    # above the watermark no row is expected, but a foreign one is still reported
    late = write("32000000100")
    AccessSubject.objects.create(entry_id=late.pk, subject_hash=access.subject_hash(PERSON))
    assert integrity.audit_verify().codes() == ["index_foreign"]


def test_verify_detects_a_tampered_packed_column():
    entries = [write(PERSON, f"3200000{i:04d}") for i in range(3)]
    subjects.subject_index_run()
    packed = bytes(AccessEntry.objects.get(pk=entries[1].pk).subject_hashes)
    forged = access.subject_hash("32000009999")
    AccessEntry.objects.filter(pk=entries[1].pk).update(subject_hashes=packed[:16] + forged)
    assert set(integrity.audit_verify().codes()) == {"content_changed", "index_foreign"}
    AccessEntry.objects.filter(pk=entries[1].pk).update(subject_hashes=packed[:16])
    assert set(integrity.audit_verify().codes()) == {"content_changed", "index_foreign"}


def test_the_migration_fills_the_column_from_the_old_rows():
    """The data step of 0006: entries written in the old layout (subject rows, no packed column)
    get the column the digest was computed over, and the watermark covers them."""
    entries = [write(PERSON, f"3200000{i:04d}") for i in range(4)] + [write()]
    old = []
    for entry in entries:  # back to the old layout
        for h in subjects.unpack(AccessEntry.objects.get(pk=entry.pk).subject_hashes):
            old.append(AccessSubject(entry_id=entry.pk, subject_hash=h))
    AccessSubject.objects.bulk_create(old)
    AccessEntry.objects.update(subject_hashes=b"")
    AccessSubjectIndex.objects.all().delete()
    assert set(integrity.audit_verify().codes()) == {"content_changed", "index_foreign"}
    migration = importlib.import_module("dagr.audit.migrations.0006_subject_hashes_in_entry")
    from django.apps import apps

    # the function uses only the schema editor's connection
    migration.fill_subject_hashes(apps, SimpleNamespace(connection=connection))
    assert subjects.indexed_to() == entries[-1].pk
    for i, entry in enumerate(entries[:4]):
        packed = bytes(AccessEntry.objects.get(pk=entry.pk).subject_hashes)
        assert packed == b"".join(access.subject_hashes([PERSON, f"3200000{i:04d}"]))
    assert bytes(AccessEntry.objects.get(pk=entries[4].pk).subject_hashes) == b""
    assert integrity.audit_verify().ok
    assert found(PERSON) == {e.pk for e in entries[:4]}
    assert subjects.subject_index_run().entries == 0  # nothing left to index
    # and back: the entries above the watermark get their rows before the column goes
    late = write(PERSON, "32000000777")
    migration.index_the_rest(apps, SimpleNamespace(connection=connection))
    held = {h for e, h in index_rows() if e == late.pk}
    assert held == set(access.subject_hashes([PERSON, "32000000777"]))
    assert len(index_rows()) == 8 + 2


@pytest.mark.django_db(transaction=True)
def test_the_index_never_passes_an_entry_that_commits_later_with_a_lower_id(
    monkeypatch: pytest.MonkeyPatch,
):
    """Another process (here a thread with its own connection and segment) has drawn its
    entry's id but not committed; a later entry with a higher id commits first. The job must not
    move the watermark past the open entry: who-read finds it by the scan once it commits, and
    the next run indexes it. (SQLite has one writer at a time and ids above every id ever
    used: an open writer holds the write lock, so this order cannot occur there.)"""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite commits entries in id order")
    own = access._Segment(pid=0, name="subject-index-main")
    other = access._Segment(pid=0, name="subject-index-other")
    main = threading.get_ident()
    monkeypatch.setattr(
        access, "_current_segment", lambda: own if threading.get_ident() == main else other
    )
    write("32000000001")
    drawn = threading.Event()
    release = threading.Event()
    late: dict[str, AccessEntry] = {}

    def open_writer() -> None:
        try:
            with transaction.atomic():
                late["entry"] = write(PERSON, request_id="late")
                drawn.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=open_writer)
    thread.start()
    try:
        assert drawn.wait(30)
        early = write("32000000002", request_id="early")
        assert early.pk > late["entry"].pk  # ids out of commit order
        run = subjects.subject_index_run()
        assert run.indexed_to < late["entry"].pk
        assert found("32000000002") == {early.pk}  # committed: found by the scan
        assert found(PERSON) == set()  # not committed yet
    finally:
        release.set()
        thread.join(30)
    assert found(PERSON) == {late["entry"].pk}
    run = subjects.subject_index_run()
    assert run.indexed_to == early.pk
    assert {e for e, _ in index_rows()} >= {late["entry"].pk, early.pk}
    assert found(PERSON) == {late["entry"].pk}
    report = integrity.audit_verify()
    assert report.ok, report.problems


def test_bulk_written_entries_are_packed_found_and_indexed():
    from django.utils import timezone

    entries = (
        {"at": timezone.now(), "operation": "get", "outcome": "ok",
         "identifiers": [PERSON, f"3200000{i:04d}"]}
        for i in range(5)
    )  # fmt: skip
    assert access.access_entries_write_bulk(entries, batch=2) == 5
    assert len(found(PERSON)) == 5 and not AccessSubject.objects.exists()
    run = subjects.subject_index_run()
    assert (run.entries, run.subjects) == (5, 10)
    assert len(found(PERSON)) == 5
    report = integrity.audit_verify()
    assert report.ok, report.problems
