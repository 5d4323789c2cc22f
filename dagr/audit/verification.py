"""``dagr audit verify``: reads the audit rows with plain SQL in id order through server-side
cursors, recomputes the keyed chains, compares them with the signed checkpoints; incremental
verification starts from a signed record of the last verified state. See
``dagr.audit.integrity``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from .chains import (
    ACCESS_COLUMNS,
    ADMIN_COLUMNS,
    GENESIS,
    VERIFIED_FORMAT,
    VERSION,
    _json,
    access_digest,
    access_digest_v1,
    admin_digest,
    at_text,
    chain_key,
    signing_key,
)
from .checkpoints import (
    _sign,
    checkpoint_digest,
    checkpoint_store,
    signature_valid,
)
from .models import AccessEntry, AccessSegment, AccessSubject, AdminEntry, AdminHead
from .subjects import indexed_to, unpack


@dataclass
class Problem:
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class VerifyReport:
    segments: int = 0
    entries: int = 0
    admin_entries: int = 0
    legacy_access: int = 0
    legacy_admin: int = 0
    checkpoint: int | None = None
    incremental_from: str | None = None
    # When the oldest keyed segment began (its entry #1, whose time the digest covers).
    first_keyed_at: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, code: str, message: str) -> None:
        self.problems.append(Problem(code, message))

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


@dataclass
class _Chain:
    seq: int = 0
    digest: str = GENESIS
    count: int = 0
    version: int = 0


_ACCESS_SELECT = "SELECT id, version, prev_hash, entry_hash, subject_hashes, {columns} FROM {table}"
_FETCH = 20_000


def _rows(sql: str, params: list[Any]) -> Iterator[tuple]:
    """Rows of a query through a server-side cursor (PostgreSQL) in batches."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(_FETCH):
            yield from batch


def _scan_access(
    report: VerifyReport,
    chains: dict[str, _Chain],
    where: str,
    params: list[Any],
    order: str,
    legacy_allowed: set[str] | None,
) -> None:
    """Recompute the chains of the entries matching ``where`` (in ``order``: id or sequence —
    equal within a segment) from the states in ``chains``. The digest covers each entry's own
    ``subject_hashes``; the rows of the derived subject index (``AccessSubject``), merged in by
    entry id, must name exactly those subjects for an entry up to the index's watermark and none
    that the entry does not hold for any entry."""
    key = chain_key()
    watermark = indexed_to()
    entries = AccessEntry._meta.db_table
    subjects_table = AccessSubject._meta.db_table
    sql = (
        _ACCESS_SELECT.format(columns=", ".join(ACCESS_COLUMNS), table=entries)
        + f" WHERE {where} ORDER BY {order}"
    )
    if order == "id":  # the full scan: ``where`` is "id > %s"
        subject_sql = (
            f"SELECT entry_id, subject_hash FROM {subjects_table} "  # noqa: S608
            "WHERE entry_id > %s ORDER BY entry_id"
        )
    else:
        subject_sql = (
            f"SELECT s.entry_id, s.subject_hash FROM {subjects_table} s "  # noqa: S608
            f"JOIN {entries} e ON e.id = s.entry_id WHERE {where} "
            "ORDER BY e.segment_seq, s.entry_id"
        )
    subject_rows = _rows(subject_sql, params)
    pending = next(subject_rows, None)
    for row in _rows(sql, params):
        entry_id, version, prev_hash, entry_hash = row[0], row[1], row[2], row[3]
        packed = bytes(row[4] or b"")
        content = list(row[5:])
        segment, seq = content[18], content[19]
        indexed: set[bytes] = set()
        while pending is not None and pending[0] == entry_id:
            indexed.add(bytes(pending[1]))
            pending = next(subject_rows, None)
        while pending is not None and order == "id" and pending[0] < entry_id:
            pending = next(subject_rows, None)  # belongs to no entry of this scan
        chain = chains.get(segment)
        if chain is None:
            chain = chains[segment] = _Chain()
        report.entries += 1
        chain.count += 1
        if seq != chain.seq + 1:
            report.problem(
                "entry_missing",
                _("%(segment)s: entry #%(seq)s is missing (next is #%(next)s)")
                % {"segment": segment, "seq": chain.seq + 1, "next": seq},
            )
        if prev_hash != chain.digest:
            report.problem(
                "link_broken",
                _("%(where)s: link to previous is broken") % {"where": f"{segment}#{seq}"},
            )
        if version == VERSION:
            content[0] = at_text(content[0])
            if seq == 1 and (report.first_keyed_at is None or content[0] < report.first_keyed_at):
                report.first_keyed_at = content[0]
            content[14] = _json(content[14])
            content[17] = float(content[17])
            expected = access_digest(key, prev_hash, content, [packed])
        elif version == 1:
            report.legacy_access += 1
            if chain.version == VERSION:
                report.problem(
                    "legacy_after_keyed",
                    _("%(where)s: an entry of the old unkeyed scheme after keyed entries")
                    % {"where": f"{segment}#{seq}"},
                )
            elif legacy_allowed is not None and segment not in legacy_allowed:
                report.problem(
                    "legacy_forged",
                    _("%(where)s: an entry of the old unkeyed scheme in a segment that had none")
                    % {"where": f"{segment}#{seq}"},
                )
            values = dict(zip(ACCESS_COLUMNS, row[5:], strict=True))
            values["fields"] = _json(values["fields"])
            expected = access_digest_v1(prev_hash, values)
        else:
            expected = ""
        if expected != entry_hash:
            report.problem(
                "content_changed",
                _("%(where)s: content was changed") % {"where": f"{segment}#{seq}"},
            )
        held = set(unpack(packed))
        if not indexed <= held:
            report.problem(
                "index_foreign",
                _("%(where)s: the subject index names a subject the entry does not hold")
                % {"where": f"{segment}#{seq}"},
            )
        elif entry_id <= watermark and indexed != held:
            report.problem(
                "index_incomplete",
                _("%(where)s: the subject index lacks subjects of the entry")
                % {"where": f"{segment}#{seq}"},
            )
        chain.seq, chain.digest = seq, entry_hash
        chain.version = max(chain.version, version)  # once keyed, never unkeyed again


def _check_heads(report: VerifyReport, chains: dict[str, _Chain], names: set[str]) -> None:
    heads = {
        s: (n, h)
        for s, n, h in AccessSegment.objects.values_list("segment", "last_seq", "last_hash")
    }
    for name in sorted(names | set(heads)):
        chain, head = chains.get(name, _Chain()), heads.get(name)
        if head is None:
            report.problem(
                "head_missing", _("%(segment)s: segment head is missing") % {"segment": name}
            )
        elif head[0] != chain.seq or head[1] != chain.digest:
            report.problem(
                "tail_missing",
                _("%(segment)s: entries after #%(seq)s are missing (head is #%(head)s)")
                % {"segment": name, "seq": chain.seq, "head": head[0]},
            )


def _scan_admin(report: VerifyReport, chain: _Chain) -> None:
    key = chain_key()
    query = AdminEntry.objects.filter(version=VERSION, seq__gt=chain.seq).order_by("seq")
    for values in query.values(*ADMIN_COLUMNS, "prev_hash", "entry_hash").iterator(5000):
        report.admin_entries += 1
        chain.count += 1
        seq = values["seq"]
        where_ = f"admin#{seq}"
        if seq != chain.seq + 1:
            report.problem(
                "entry_missing",
                _("%(segment)s: entry #%(seq)s is missing (next is #%(next)s)")
                % {"segment": "admin", "seq": chain.seq + 1, "next": seq},
            )
        if values["prev_hash"] != chain.digest:
            report.problem(
                "link_broken", _("%(where)s: link to previous is broken") % {"where": where_}
            )
        if admin_digest(key, values["prev_hash"], values) != values["entry_hash"]:
            report.problem(
                "content_changed", _("%(where)s: content was changed") % {"where": where_}
            )
        chain.seq, chain.digest = seq, values["entry_hash"]
    head = AdminHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()
    if head is None and chain.seq:
        report.problem(
            "head_missing", _("%(segment)s: segment head is missing") % {"segment": "admin"}
        )
    elif head is not None and (head[0] != chain.seq or head[1] != chain.digest):
        report.problem(
            "tail_missing",
            _("%(segment)s: entries after #%(seq)s are missing (head is #%(head)s)")
            % {"segment": "admin", "seq": chain.seq, "head": head[0]},
        )
    report.legacy_admin = AdminEntry.objects.filter(version=1).count()
    forged = AdminEntry.objects.filter(version=1, seq__isnull=False).count()
    forged += AdminEntry.objects.exclude(version__in=(1, VERSION)).count()
    forged += AdminEntry.objects.filter(version=VERSION, seq__isnull=True).count()
    if forged:
        report.problem(
            "admin_unchained",
            _("admin: %(n)s entries are outside the chain") % {"n": forged},
        )


def _check_checkpoint_log(report: VerifyReport, items: list[dict[str, Any]]) -> None:
    """Every checkpoint signed by our key, each naming the digest of the one before."""
    key = signing_key().public_key()
    prev = GENESIS
    for number, item in enumerate(items, start=1):
        if not signature_valid(item, key):
            report.problem(
                "checkpoint_signature",
                _("checkpoint #%(n)s: the signature is not valid") % {"n": number},
            )
        if item.get("prev") != prev or item.get("number") != number:
            report.problem(
                "checkpoint_chain",
                _("checkpoint #%(n)s: the link to the previous checkpoint is broken")
                % {"n": number},
            )
        prev = checkpoint_digest(item)


def _compare_with_checkpoint(report: VerifyReport, checkpoint: dict[str, Any]) -> None:
    """The database must still hold everything the checkpoint recorded."""
    entries = AccessEntry._meta.db_table
    counts = dict(AccessEntry.objects.values_list("segment").annotate(n=Count("id")).order_by())
    admin_count = AdminEntry.objects.filter(version=VERSION).count()
    number = checkpoint.get("number")
    recorded = sum(int(h.get("count", 0)) for h in checkpoint.get("heads", []))
    if recorded and not counts and not admin_count:
        report.problem(
            "tables_empty",
            _("the audit tables are empty, but checkpoint #%(n)s of %(at)s had %(count)s entries")
            % {"n": number, "at": checkpoint.get("at"), "count": recorded},
        )
    with connection.cursor() as cursor:
        for head in checkpoint.get("heads", []):
            name, seq, digest = head["segment"], int(head["last_seq"]), head["last_digest"]
            count = int(head.get("count", seq))
            label = name if head.get("kind") == "access" else "admin"
            if head.get("kind") == "admin":
                have = admin_count
                found = (
                    AdminEntry.objects.filter(seq=seq).values_list("entry_hash", flat=True).first()
                )
            else:
                have = counts.get(name, 0)
                cursor.execute(
                    f"SELECT entry_hash FROM {entries} WHERE segment = %s AND segment_seq = %s",  # noqa: S608
                    [name, seq],
                )
                one = cursor.fetchone()
                found = one[0] if one else None
            if have == 0 and count:
                report.problem(
                    "segment_missing",
                    _("%(segment)s: segment missing; checkpoint #%(n)s had %(count)s entries")
                    % {"segment": label, "n": number, "count": count},
                )
                continue
            if have < count:
                report.problem(
                    "count_lower",
                    _("%(segment)s: %(have)s entries, fewer than %(count)s in checkpoint #%(n)s")
                    % {"segment": label, "have": have, "count": count, "n": number},
                )
            if found is None:
                report.problem(
                    "checkpoint_entry_missing",
                    _("%(segment)s: entry #%(seq)s of checkpoint #%(n)s is missing")
                    % {"segment": label, "seq": seq, "n": number},
                )
            elif found != digest:
                report.problem(
                    "checkpoint_digest",
                    _("%(segment)s: entry #%(seq)s differs from checkpoint #%(n)s")
                    % {"segment": label, "seq": seq, "n": number},
                )


def _load_verified(report: VerifyReport, items: list[dict[str, Any]]) -> dict[str, Any] | None:
    path = Path(settings.AUDIT_VERIFIED_PATH)
    if not path.exists():
        report.warnings.append(_("No earlier verification is recorded: verifying everything."))
        return None
    try:
        state = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        state = {}
    digests = {checkpoint_digest(item) for item in items}
    if (
        not isinstance(state, dict)
        or state.get("format") != VERIFIED_FORMAT
        or not signature_valid(state)
    ):
        report.problem(
            "verified_state_invalid",
            _("the record of the last verification is not validly signed: verifying everything"),
        )
        return None
    if state.get("checkpoint") and state["checkpoint"] not in digests:
        report.problem(
            "verified_state_invalid",
            _("the last verification names a checkpoint not in the log: verifying everything"),
        )
        return None
    return state


def _save_verified(chains: dict[str, _Chain], admin: _Chain, items: list[dict[str, Any]]) -> None:
    path = Path(settings.AUDIT_VERIFIED_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "format": VERIFIED_FORMAT,
        "at": timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
        "checkpoint": checkpoint_digest(items[-1]) if items else None,
        "segments": {n: [c.seq, c.digest, c.count, c.version] for n, c in chains.items()},
        "admin": [admin.seq, admin.digest, admin.count],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(_sign(body)))
    tmp.replace(path)


def _checkpoint_due() -> str:
    """Entries older than this must be in some checkpoint (10 intervals, at least 10 minutes:
    a worker that was down a while is not yet a removed log)."""
    grace = max(600.0, 10 * settings.AUDIT_CHECKPOINT_INTERVAL_S)
    return at_text(timezone.now() - timedelta(seconds=grace))


def audit_verify(
    *, against: dict[str, Any] | None = None, incremental: bool = False, record: bool = False
) -> VerifyReport:
    """Check both audit trails: recompute every keyed chain (or, ``incremental``, the entries
    after the last verified state), the heads, the checkpoint log, and the database against the
    latest checkpoint (or ``against``, an exported one). ``record`` keeps the verified state for
    the next incremental run (only when no problem was found)."""
    report = VerifyReport()
    items = checkpoint_store().all()
    _check_checkpoint_log(report, items)
    checkpoint = items[-1] if items else None
    if against is not None:
        checkpoint = against.get("checkpoint", against)
        if not signature_valid(checkpoint):
            report.problem(
                "checkpoint_signature",
                _("the given checkpoint is not validly signed by this installation's key"),
            )
    legacy = set(checkpoint["legacy_access_segments"]) if checkpoint else None

    chains: dict[str, _Chain] = {}
    admin = _Chain()
    state = _load_verified(report, items) if incremental else None
    if state is None:
        _scan_access(report, chains, "id > %s", [0], "id", legacy)
        _check_heads(report, chains, set(chains))
    else:
        report.incremental_from = state["at"]
        for name, (seq, digest, count, version) in state["segments"].items():
            chains[name] = _Chain(seq, digest, count, version)
        admin = _Chain(*state["admin"])
        heads = dict(AccessSegment.objects.values_list("segment", "last_seq"))
        for name in sorted(set(heads) | set(chains)):
            chain = chains.setdefault(name, _Chain())
            if heads.get(name, 0) != chain.seq:
                _scan_access(
                    report, chains, "segment = %s AND segment_seq > %s", [name, chain.seq],
                    "segment_seq", legacy,
                )  # fmt: skip
        _check_heads(report, chains, set(chains))
    _scan_admin(report, admin)
    report.segments = len(chains)
    if checkpoint is not None:
        report.checkpoint = checkpoint.get("number")
        _compare_with_checkpoint(report, checkpoint)
    elif report.first_keyed_at and report.first_keyed_at < _checkpoint_due():
        # Keyed entries older than the checkpoint interval allows, yet no checkpoint at all:
        # the log was removed (the entry times are covered by the keyed digests).
        report.problem(
            "checkpoint_log_missing",
            _("keyed entries since %(at)s exist, but the checkpoint log is empty or missing")
            % {"at": report.first_keyed_at},
        )
    else:
        report.warnings.append(
            _("No checkpoint exists yet: a removed segment or tail cannot be detected.")
        )
    if report.legacy_access or report.legacy_admin:
        report.warnings.append(
            _(
                "%(access)s access entries and %(admin)s administrative entries predate the keyed "
                "chain (version 1): they are only as well protected as before."
            )
            % {"access": report.legacy_access, "admin": report.legacy_admin}
        )
    if record and report.ok:
        _save_verified(chains, admin, items)
    return report
