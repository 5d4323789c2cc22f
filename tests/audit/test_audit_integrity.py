"""Tampering that ``dagr audit verify`` must report (issue #10, part 2): keyed digests over every
column and the subjects, signed checkpoints outside the database, the admin chain, incremental
verification. Every case edits the real database the way someone with write access could."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dagr.audit import integrity
from dagr.audit.access import access_entry_write
from dagr.audit.models import AccessEntry, AccessSegment, AccessSubject, AdminEntry, AdminHead
from dagr.audit.services import admin_entry_create

pytestmark = pytest.mark.django_db
PERSON = "120389-11236"


def write(n: int = 4) -> list[AccessEntry]:
    return [
        access_entry_write(
            operation="get",
            outcome="ok",
            dataset_id=1,
            dataset_code="persons",
            institution_id=7,
            identifiers=[PERSON, f"3200000{i:04d}"],
            records_returned=1,
            fields=["first_name"],
            duration_ms=1.25,
        )
        for i in range(n)
    ]


def admin_write(n: int = 3) -> list[AdminEntry]:
    return [
        admin_entry_create(
            action="catalog.dataset.updated",
            actor=None,
            target_type="catalog.dataset",
            target_id=str(i),
            target_label=f"Dataset {i}",
            changes={"title": ["a", f"b{i}"], "rows": [1, i]},
            ip_address="2001:db8:0:0::1",
        )
        for i in range(n)
    ]


def codes(**kwargs: Any) -> list[str]:
    return integrity.audit_verify(**kwargs).codes()


def access_content(row: dict[str, Any]) -> list[Any]:
    content = [row[c] for c in integrity.ACCESS_COLUMNS]
    content[0] = integrity.at_text(content[0])
    return content


def rechain(segment: str, digest: Any, *, version: int = 2, start: int = 1) -> None:
    """Recompute a segment from entry #start the way a forger without the chain key can, and
    fix its head."""
    rows = AccessEntry.objects.filter(segment=segment, segment_seq__gte=start)
    prev = (
        AccessEntry.objects.get(segment=segment, segment_seq=start - 1).entry_hash
        if start > 1
        else integrity.GENESIS
    )
    for row in rows.order_by("segment_seq").values():
        row["version"] = version
        subjects = [bytes(row["subject_hashes"])]
        new = digest(prev, row, subjects)
        AccessEntry.objects.filter(pk=row["id"]).update(
            prev_hash=prev, entry_hash=new, version=version
        )
        prev = new
    AccessSegment.objects.filter(segment=segment).update(last_hash=prev)


def plain_sha256(prev: str, row: dict[str, Any], subjects: list[bytes]) -> str:
    message = b"2|%s|%s|%s" % (prev.encode(), orjson.dumps(access_content(row)), b"".join(subjects))
    return hashlib.sha256(message).hexdigest()


def old_scheme(prev: str, row: dict[str, Any], subjects: list[bytes]) -> str:
    return integrity.access_digest_v1(prev, row)


def test_untouched_trails_verify_cleanly_against_a_checkpoint():
    write(3)
    admin_write(2)
    item = integrity.checkpoint_write()
    assert {h["kind"] for h in item["heads"]} == {"access", "admin"}
    assert integrity.signature_valid(item)
    write(2)  # entries after the checkpoint are fine too
    report = integrity.audit_verify()
    assert report.ok, report.problems
    assert (report.entries, report.admin_entries, report.checkpoint) == (5, 2, 1)
    assert report.legacy_access == report.legacy_admin == 0


def test_removed_subject_is_detected():
    entries = write(3)
    AccessEntry.objects.filter(pk=entries[1].pk).update(subject_hashes=b"")
    assert codes() == ["content_changed"]


def test_altered_subject_is_detected():
    entries = write(3)
    AccessEntry.objects.filter(pk=entries[1].pk).update(subject_hashes=b"\x01" * 16)
    assert codes() == ["content_changed"]


def test_added_subject_is_detected():
    entries = write(3)
    packed = bytes(AccessEntry.objects.get(pk=entries[1].pk).subject_hashes)
    AccessEntry.objects.filter(pk=entries[1].pk).update(subject_hashes=packed + b"\x01" * 16)
    assert codes() == ["content_changed"]


def test_edited_duration_is_detected():
    entries = write(3)
    AccessEntry.objects.filter(pk=entries[2].pk).update(duration_ms=99.5)
    assert codes() == ["content_changed"]


@pytest.mark.parametrize("digest", [plain_sha256, old_scheme], ids=["plain-sha256", "old-scheme"])
def test_edited_entry_with_recomputed_chain_is_detected(digest: Any):
    entries = write(3)
    segment = entries[0].segment
    AccessEntry.objects.filter(pk=entries[1].pk).update(records_returned=0, outcome="denied")
    rechain(segment, digest, version=1 if digest is old_scheme else 2, start=2)
    expected = "legacy_after_keyed" if digest is old_scheme else "content_changed"
    assert codes() == [expected, expected]  # entries #2 and #3


def test_old_scheme_forgery_after_a_checkpoint_is_detected():
    """Even a segment rewritten entirely in the old (unkeyed) scheme: the checkpoint recorded
    that it had no legacy entries, and the digest it recorded no longer matches."""
    entries = write(3)
    integrity.checkpoint_write()
    AccessEntry.objects.filter(pk=entries[1].pk).update(records_returned=0)
    rechain(entries[0].segment, old_scheme, version=1)
    assert {"legacy_forged", "checkpoint_digest"} <= set(codes())


def test_deleted_segment_with_its_head_is_detected():
    entries = write(3)
    integrity.checkpoint_write()
    AccessEntry.objects.filter(segment=entries[0].segment).delete()
    AccessSegment.objects.filter(segment=entries[0].segment).delete()
    assert "segment_missing" in codes()


def test_emptied_audit_tables_are_detected():
    write(3)
    admin_write(2)
    integrity.checkpoint_write()
    AccessSubject.objects.all().delete()
    AccessEntry.objects.all().delete()
    AccessSegment.objects.all().delete()
    AdminEntry.objects.all().delete()
    AdminHead.objects.all().delete()
    report = integrity.audit_verify()
    assert report.entries == report.admin_entries == 0
    assert report.codes().count("segment_missing") == 2 and "tables_empty" in report.codes()


def test_cut_tail_with_fixed_head_is_detected():
    entries = write(5)
    integrity.checkpoint_write()
    AccessEntry.objects.filter(pk__in=[e.pk for e in entries[3:]]).delete()
    AccessSegment.objects.filter(segment=entries[0].segment).update(
        last_seq=3, last_hash=entries[2].entry_hash
    )
    assert {"count_lower", "checkpoint_entry_missing"} <= set(codes())


def test_tampered_checkpoint_log_is_detected(audit_files: Any):
    write(2)
    integrity.checkpoint_write()
    write(1)
    integrity.checkpoint_write()
    path = audit_files / "checkpoints.jsonl"
    lines = path.read_bytes().splitlines()
    first = orjson.loads(lines[0])
    first["heads"][0]["count"] = 1
    first["heads"][0]["last_seq"] = 1
    path.write_bytes(orjson.dumps(first) + b"\n" + lines[1] + b"\n")
    assert codes() == ["checkpoint_signature", "checkpoint_chain"]
    path.write_bytes(lines[1] + b"\n")  # the first one removed: the chain breaks
    assert codes() == ["checkpoint_chain"]


def test_verify_against_an_exported_checkpoint_after_truncation(audit_files: Any, capsys: Any):
    entries = write(4)
    admin_write(2)
    integrity.checkpoint_write()
    call_command("audit", "checkpoint", "--export")
    exported = capsys.readouterr().out
    assert orjson.loads(exported)["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    (audit_files / "kept.json").write_text(exported)
    # Whoever truncates the audit also rewrites the local checkpoint log.
    AccessEntry.objects.filter(pk=entries[3].pk).delete()
    AccessSegment.objects.filter(segment=entries[0].segment).update(
        last_seq=3, last_hash=entries[2].entry_hash
    )
    (audit_files / "checkpoints.jsonl").unlink()
    call_command("audit", "verify")  # the database alone looks intact…
    with pytest.raises(CommandError):  # …but not against the kept checkpoint
        call_command("audit", "verify", "--against", str(audit_files / "kept.json"))
    kept = orjson.loads(exported)
    assert "count_lower" in codes(against=kept)
    kept["checkpoint"]["heads"][0]["count"] = 3  # an edited export is not believed
    assert "checkpoint_signature" in codes(against=kept)


def test_incremental_verify_detects_a_change_after_the_last_verified_point(audit_files: Any):
    write(3)
    admin_write(1)
    integrity.checkpoint_write()
    first = integrity.audit_verify(incremental=True, record=True)
    assert first.ok, first.problems
    assert first.entries == 3 and (audit_files / "verified.json").exists()
    later = write(2)
    admin_write(1)
    report = integrity.audit_verify(incremental=True, record=True)
    assert report.ok, report.problems
    assert (report.entries, report.admin_entries) == (2, 1) and report.incremental_from
    more = write(2)
    AccessEntry.objects.filter(pk=more[0].pk).update(purpose="nothing to see")
    assert "content_changed" in codes(incremental=True)
    # Entries already verified are not read again (that is what makes it incremental)…
    AccessEntry.objects.filter(pk=more[0].pk).update(purpose="")
    assert codes(incremental=True) == []
    assert later  # …and a forged record of the last verification is refused.
    state = orjson.loads((audit_files / "verified.json").read_bytes())
    state["segments"][later[0].segment][0] = 99
    (audit_files / "verified.json").write_bytes(orjson.dumps(state))
    assert "verified_state_invalid" in codes(incremental=True)


def test_admin_trail_edits_and_deletions_are_detected():
    entries = admin_write(4)
    assert integrity.audit_verify().ok
    integrity.checkpoint_write()
    AdminEntry.objects.filter(pk=entries[1].pk).update(changes={"title": ["a", "c"]})
    assert codes() == ["content_changed"]
    # Recomputed from there on, without the chain key (an empty key, or any guess):
    prev = entries[0].entry_hash
    for row in AdminEntry.objects.filter(seq__gte=2).order_by("seq").values():
        new = integrity.admin_digest(b"", prev, row)
        AdminEntry.objects.filter(pk=row["id"]).update(prev_hash=prev, entry_hash=new)
        prev = new
    AdminHead.objects.update(last_hash=prev)
    assert codes() == ["content_changed"] * 3 + ["checkpoint_digest"]
    AdminEntry.objects.filter(pk=entries[1].pk).delete()
    assert "entry_missing" in codes()
    AdminEntry.objects.filter(pk=entries[3].pk).delete()
    AdminHead.objects.update(last_seq=3, last_hash=AdminEntry.objects.get(seq=3).entry_hash)
    assert {"count_lower", "checkpoint_entry_missing"} <= set(codes())


def test_admin_entry_outside_the_chain_is_detected():
    admin_write(2)
    AdminEntry.objects.create(
        at=AdminEntry.objects.first().at, action="x", target_type="y", version=1
    )
    report = integrity.audit_verify()
    assert report.ok and report.legacy_admin == 1  # a legacy entry is only a warning…
    AdminEntry.objects.create(at=AdminEntry.objects.first().at, action="x", target_type="y")
    assert codes() == ["admin_unchained"]  # …an unchained new one is a problem


def test_legacy_entries_are_reported_as_a_warning(capsys: Any):
    entries = write(2)
    rechain(entries[0].segment, old_scheme, version=1)  # as the old code wrote them
    integrity.checkpoint_write()
    assert integrity.checkpoint_store().all()[-1]["legacy_access_segments"] == [entries[0].segment]
    report = integrity.audit_verify()
    assert report.ok, report.problems
    assert report.legacy_access == 2 and len(report.warnings) == 1
    write(1)  # a new process (segment) writes version 2
    call_command("audit", "verify")
    assert report.warnings[0] in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_checkpoint_command_and_worker_shutdown_checkpoint(audit_files: Any, capsys: Any):
    import threading

    from dagr.core.management.commands.worker import _checkpoints

    call_command("audit", "checkpoint", "--public-key")
    assert "BEGIN PUBLIC KEY" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("audit", "checkpoint", "--export")
    write(2)
    stop = threading.Event()
    stop.set()
    for _ in range(2):  # at shutdown: one checkpoint, and none when no head moved since
        thread = threading.Thread(target=_checkpoints, args=(stop,))  # as in the worker
        thread.start()
        thread.join()
    items = integrity.checkpoint_store().all()
    assert len(items) == 1 and items[0]["heads"][0]["count"] == 2
    call_command("audit", "checkpoint")
    assert [i["number"] for i in integrity.checkpoint_store().all()] == [1, 2]


def test_verify_against_an_unreadable_file_is_a_clear_error(audit_files: Any):
    write(1)
    bad = audit_files / "bad.json"
    bad.parent.mkdir(parents=True, exist_ok=True)
    for content in ("[1, 2]", "{not json"):
        bad.write_text(content)
        with pytest.raises(CommandError):
            call_command("audit", "verify", "--against", str(bad))
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--against", str(audit_files / "missing.json"))
    (audit_files / "verified.json").write_text("{not json")  # a broken state: a full run
    report = integrity.audit_verify(incremental=True)
    assert report.codes() == ["verified_state_invalid"] and report.entries == 1


def test_removed_checkpoint_log_is_detected(audit_files: Any):
    from datetime import timedelta

    from django.utils import timezone

    access_entry_write(operation="get", outcome="ok", at=timezone.now() - timedelta(hours=2))
    write(1)
    integrity.checkpoint_write()
    assert codes() == []
    (audit_files / "checkpoints.jsonl").unlink()
    assert codes() == ["checkpoint_log_missing"]


def test_a_fresh_installation_without_a_checkpoint_only_warns():
    write(2)
    report = integrity.audit_verify()
    assert report.ok and report.warnings
