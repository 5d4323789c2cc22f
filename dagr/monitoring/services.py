"""Record sets (DU-2): define, change and delete a recipient's watch lists, and read a record
set's change feed (``docs/change-feed.md``, "Record sets").

A record set belongs to one recipient institution and one of its approved grants. Its
``identifier_field`` must be a declared identifier of the dataset that the grant shows, and its
``conditions`` (the grant condition language) may use only granted fields: a record set never
lets the recipient test a value it cannot see.

Membership (``record_set_member``) = (no ``identifier_field``, or one of the record's values at
``identifier_field`` is watched) AND (the record satisfies ``conditions``). A set with an
identifier field but no watched values yet has no members. The feed is the grant's feed with
membership added to the "visible" test (``dagr.retrieval.services.records_changes``).

Watched values are stripped, at most 255 characters; values of a personal code or company
number field are checked like the loader checks them (``dagr.core.identifiers``), values of an
integer field are written as the integer. Changes are written in batches that ignore
duplicates, in one transaction that also keeps ``identifier_count`` and bumps ``revision`` (the
key of the per-process value cache). Administrative changes are audited; the audit names how
many values changed, never the values (they are often personal codes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import batched
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create, diff_fields
from dagr.catalog.schema import SchemaDef
from dagr.core import identifiers
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dagr.grants.conditions import compile_predicate, conditions_as_json, validate_conditions
from dagr.grants.models import Grant
from dagr.grants.selectors import dataset_schema_of
from dagr.permissions import rules
from dagr.retrieval.changes import ChangesPage
from dagr.retrieval.services import DEFAULT_CHANGES, Caller, records_changes
from dagr.uploads.parsing import DELIMITERS, detect_encoding

from . import selectors
from .models import RecordSet, RecordSetIdentifier

MAX_NAME_LENGTH = 200
MAX_VALUE_LENGTH = 255
MAX_VALUES_PER_CALL = 10_000
DEFAULT_MAX_IDENTIFIERS = 200_000
MAX_CSV_BYTES = 10 * 1024 * 1024
MAX_REPORTED_ERRORS = 100
INSERT_BATCH = 2000
DELETE_BATCH = 500
CHECKED_KINDS = (identifiers.PERSONAL_CODE, identifiers.COMPANY_CODE)
IMPORT_MODES = ("add", "replace")
FEED_SCAN_MIN = 20_000
FEED_SCAN_FACTOR = 20

Member = Callable[[dict[str, Any]], bool]


def max_identifiers() -> int:
    return int(getattr(settings, "MONITORING_MAX_IDENTIFIERS", DEFAULT_MAX_IDENTIFIERS))


def _error(location: str, code: str, message: Any, **extra: Any) -> dict[str, Any]:
    return {"location": location, "code": code, "message": str(message), **extra}


def _invalid(message: Any, code: str, location: str) -> ValidationError:
    return ValidationError(message, code=code, errors=[_error(location, code, message)])


def _require_manager(actor: Actor, institution_id: int) -> None:
    if not rules.can_manage_record_sets_of(actor, institution_id):
        raise PermissionDenied(
            _("Only data recipient representatives or systems of the institution manage its "
              "record sets."),
            code="record_set_forbidden",
        )  # fmt: skip


def _granted(path: str, grant: Grant) -> bool:
    return path in (grant.fields or [])


# --- the definition: grant, identifier field, conditions ----------------------------------------


def _grant_of(institution_id: int, dataset_code: str, permission_number: str) -> Grant:
    missing = NotFound(
        _("Your institution has no approved access grant with this permission number for this "
          "dataset."),
        code="grant_not_found",
    )  # fmt: skip
    if not isinstance(dataset_code, str) or not isinstance(permission_number, str):
        raise missing
    number = permission_number.strip()
    grant = (
        Grant.objects.select_related("dataset", "dataset__schema")
        .filter(
            recipient_id=institution_id,
            dataset__code=dataset_code.strip(),
            permission_number=number,
            status=Grant.Status.APPROVED,
        )
        .first()
    )
    if not number or grant is None or grant.effective_status() == Grant.EXPIRED:
        raise missing
    return grant


def _clean_name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME_LENGTH:
        raise _invalid(
            _("Give the record set a name of 1 to %(max)s characters.") % {"max": MAX_NAME_LENGTH},
            "invalid_name",
            "name",
        )
    return text


def _clean_identifier_field(path: Any, schema: SchemaDef, grant: Grant) -> str:
    if path is None or path == "":
        return ""
    kinds = dict(schema.identifier_paths())
    if not isinstance(path, str) or path not in kinds:
        raise _invalid(
            _("'%(field)s' is not an identifier field of this dataset.")
            % {"field": str(path)[:100]},
            "unknown_identifier",
            "identifier_field",
        )
    if not _granted(path, grant):
        raise _invalid(
            _("Your access grant does not include the field '%(field)s'.") % {"field": path},
            "field_not_granted",
            "identifier_field",
        )
    return path


def _clean_conditions(raw: Any, schema: SchemaDef, grant: Grant) -> list[dict[str, Any]]:
    conditions = validate_conditions(raw, schema)
    errors = [
        _error(
            f"conditions.{n}",
            "field_not_granted",
            gettext("Your access grant does not include the field '%(field)s'.")
            % {"field": c.field},
        )
        for n, c in enumerate(conditions)
        if not _granted(c.field, grant)
    ]
    if errors:
        raise ValidationError(
            _("The conditions are not valid."), code="invalid_conditions", errors=errors
        )
    return conditions_as_json(conditions)


def _snapshot(record_set: RecordSet) -> dict[str, Any]:
    return {
        "name": record_set.name,
        "dataset": record_set.dataset.code,
        "permission_number": record_set.grant.permission_number,
        "identifier_field": record_set.identifier_field,
        "conditions": record_set.conditions,
    }


def record_set_create(
    *,
    actor: Actor,
    institution_id: int,
    dataset_code: str,
    permission_number: str,
    name: str,
    identifier_field: str = "",
    conditions: list[dict[str, Any]] | None = None,
) -> RecordSet:
    """A new record set of ``institution_id`` over its approved grant ``permission_number`` for
    ``dataset_code`` (another institution's grant: ``grant_not_found``)."""
    _require_manager(actor, institution_id)
    clean_name = _clean_name(name)
    grant = _grant_of(institution_id, dataset_code, permission_number)
    schema = dataset_schema_of(grant.dataset)
    field = _clean_identifier_field(identifier_field, schema, grant)
    clean_conditions = _clean_conditions(conditions or [], schema, grant)
    record_set = RecordSet(
        institution_id=institution_id,
        grant=grant,
        dataset=grant.dataset,
        name=clean_name,
        identifier_field=field,
        conditions=clean_conditions,
        created_by_label=str(actor)[:255],
    )
    with transaction.atomic():
        record_set.save()
        admin_entry_create(
            action="monitoring.record_set.created",
            actor=actor,
            target=record_set,
            institution_id=institution_id,
            changes=diff_fields({}, _snapshot(record_set)),
        )
    return record_set


_UNSET: Any = object()


def record_set_update(
    *, actor: Actor, record_set: RecordSet, name: Any = _UNSET, conditions: Any = _UNSET
) -> RecordSet:
    """Rename the record set and/or change its conditions (a changed definition makes earlier
    feed cursors ``cursor_outdated``). The identifier field cannot change: make a new set."""
    _require_manager(actor, record_set.institution_id)
    before = _snapshot(record_set)
    fields: list[str] = []
    if name is not _UNSET:
        record_set.name = _clean_name(name)
        fields.append("name")
    if conditions is not _UNSET:
        schema = dataset_schema_of(record_set.dataset)
        record_set.conditions = _clean_conditions(conditions or [], schema, record_set.grant)
        fields.append("conditions")
    changes = diff_fields(before, _snapshot(record_set))
    if not changes:
        return record_set
    with transaction.atomic():
        record_set.save(update_fields=[*fields, "updated_at"])
        admin_entry_create(
            action="monitoring.record_set.updated",
            actor=actor,
            target=record_set,
            institution_id=record_set.institution_id,
            changes=changes,
        )
    return record_set


def record_set_delete(*, actor: Actor, record_set: RecordSet) -> None:
    """Delete the record set with its watched values and its webhook."""
    _require_manager(actor, record_set.institution_id)
    with transaction.atomic():
        admin_entry_create(
            action="monitoring.record_set.deleted",
            actor=actor,
            target=record_set,
            institution_id=record_set.institution_id,
            changes={
                **diff_fields(_snapshot(record_set), {}),
                "identifier_count": [record_set.identifier_count, None],
            },
        )
        record_set.delete()
    forget_values(record_set.pk)


# --- watched values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """How values of the record set's identifier field are checked and written."""

    path: str
    kind: str  # personal_code, company_code, address_code, other
    integer: bool

    def clean(self, value: Any) -> tuple[str | None, str, Any]:
        """``(value, "", "")`` or ``(None, code, message)``."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None, "invalid_value", _("An identifier value must be text or a number.")
        text = str(value).strip()
        if not text or len(text) > MAX_VALUE_LENGTH or "\x00" in text:
            return (
                None,
                "invalid_value",
                _("An identifier value has 1 to %(max)s characters.") % {"max": MAX_VALUE_LENGTH},
            )
        if self.integer:
            if not re.fullmatch(r"[-+]?\d{1,19}", text):
                return None, "invalid_value", _("The value must be a whole number.")
            return str(int(text)), "", ""
        if self.kind in CHECKED_KINDS and not identifiers.is_valid_identifier(self.kind, text):
            message = (
                _("This is not a valid personal code.")
                if self.kind == identifiers.PERSONAL_CODE
                else _("This is not a valid company registration number.")
            )
            return None, "invalid_identifier", message
        return text, "", ""


def _kind_of(record_set: RecordSet) -> _Kind:
    if not record_set.identifier_field:
        raise Conflict(
            _("This record set watches no identifier field, so it has no list of values."),
            code="record_set_without_identifiers",
        )
    schema = dataset_schema_of(record_set.dataset)
    fields = dict(schema.field_paths())
    field = fields.get(record_set.identifier_field)
    if field is None or not field.identifier:
        raise _outdated()
    return _Kind(record_set.identifier_field, field.identifier, field.type == "integer")


def _clean_values(
    kind: _Kind, values: Iterable[tuple[str, Any]], errors: list[dict[str, Any]]
) -> list[str]:
    """Clean ``(location, value)`` pairs; problems go to ``errors`` (with ``value``)."""
    out: list[str] = []
    for location, raw in values:
        clean, code, message = kind.clean(raw)
        if clean is None:
            errors.append(
                _error(location, code, message, value=str(raw)[:MAX_VALUE_LENGTH] if raw else "")
            )
        else:
            out.append(clean)
    return list(dict.fromkeys(out))


def _invalid_values(errors: list[dict[str, Any]]) -> ValidationError:
    shown = errors[:MAX_REPORTED_ERRORS]
    return ValidationError(
        _("%(count)s values are not valid; nothing was changed.") % {"count": len(errors)},
        code="invalid_identifiers",
        errors=shown,
        invalid_count=len(errors),
    )


def _locked(record_set: RecordSet) -> RecordSet:
    return RecordSet.objects.select_for_update().get(pk=record_set.pk)


def _insert(record_set_id: int, values: list[str]) -> None:
    for batch in batched(values, INSERT_BATCH):
        RecordSetIdentifier.objects.bulk_create(
            [RecordSetIdentifier(record_set_id=record_set_id, value=v) for v in batch],
            ignore_conflicts=True,
        )


def _delete(record_set_id: int, values: list[str]) -> int:
    removed = 0
    for batch in batched(values, DELETE_BATCH):
        removed += RecordSetIdentifier.objects.filter(
            record_set_id=record_set_id, value__in=batch
        ).delete()[0]
    return removed


@dataclass
class IdentifiersChanged:
    added: int
    removed: int
    count: int
    lines: int = 0  # the values read from a file


def _apply(
    *,
    actor: Actor,
    record_set: RecordSet,
    add: list[str],
    remove: list[str],
    replace: bool = False,
    source: str = "api",
    lines: int = 0,
) -> IdentifiersChanged:
    with transaction.atomic():
        locked = _locked(record_set)
        before = locked.identifier_count
        removed = 0
        if replace:
            removed = RecordSetIdentifier.objects.filter(record_set_id=locked.pk).delete()[0]
        elif remove:
            removed = _delete(locked.pk, remove)
        _insert(locked.pk, add)
        count = RecordSetIdentifier.objects.filter(record_set_id=locked.pk).count()
        added = count - (before - removed)
        if count > max_identifiers():
            raise _invalid(
                _("A record set watches at most %(max)s values; this change would make it "
                  "%(count)s. Nothing was changed.") % {"max": max_identifiers(), "count": count},
                "too_many_identifiers",
                "add",
            )  # fmt: skip
        if added or removed:
            RecordSet.objects.filter(pk=locked.pk).update(
                identifier_count=count, revision=F("revision") + 1, updated_at=timezone.now()
            )
            admin_entry_create(
                action="monitoring.record_set.identifiers_changed",
                actor=actor,
                target=record_set,
                institution_id=record_set.institution_id,
                changes={
                    "identifier_count": [before, count],
                    "added": [None, added],
                    "removed": [None, removed],
                    "source": [None, source],
                },
            )
            record_set.identifier_count = count
            record_set.revision = locked.revision + 1
    return IdentifiersChanged(added=added, removed=removed, count=count, lines=lines)


def record_set_identifiers_change(
    *, actor: Actor, record_set: RecordSet, add: Any = (), remove: Any = ()
) -> IdentifiersChanged:
    """Add and remove watched values (removals first; at most 10,000 values per call). Every
    value is checked first; if any is not valid nothing changes (``invalid_identifiers``, the
    problems listed with their position ``add.<n>`` / ``remove.<n>``)."""
    _require_manager(actor, record_set.institution_id)
    add, remove = list(add or []), list(remove or [])
    if len(add) + len(remove) > MAX_VALUES_PER_CALL:
        raise _invalid(
            _("At most %(max)s values can be added or removed in one call.")
            % {"max": MAX_VALUES_PER_CALL},
            "too_many_values",
            "add",
        )
    kind = _kind_of(record_set)
    errors: list[dict[str, Any]] = []
    to_add = _clean_values(kind, ((f"add.{n}", v) for n, v in enumerate(add)), errors)
    to_remove = _clean_values(
        # a value that no longer passes the check may still be removed
        _Kind(kind.path, identifiers.OTHER, kind.integer),
        ((f"remove.{n}", v) for n, v in enumerate(remove)),
        errors,
    )
    if errors:
        raise _invalid_values(errors)
    return _apply(actor=actor, record_set=record_set, add=to_add, remove=to_remove)


# --- CSV import (portal) --------------------------------------------------------------------------


def _header_names(record_set: RecordSet, schema: SchemaDef) -> set[str]:
    path = record_set.identifier_field
    names = {path, path.rsplit(".", 1)[-1], "value", "identifier", "vērtība", "identifikators"}
    field = dict(schema.field_paths()).get(path)
    if field is not None:
        names.update({field.title_lv, field.title_en})
    return {n.strip().casefold() for n in names if n}


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of non-empty rows; the delimiter is the one (of , ; tab |)
    the first line has most of, none for a one-column file."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d])
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter if counts[delimiter] else "\x1f"
    )
    for cells in reader:
        if cells and any(c.strip() for c in cells):
            yield reader.line_num, cells


def _read_csv(
    record_set: RecordSet, data: bytes, kind: _Kind
) -> tuple[list[str], list[dict[str, Any]], int]:
    try:
        text = data.decode(detect_encoding(data[:65536]))
    except UnicodeDecodeError:
        raise _invalid(_("The file is not UTF-8 text."), "file_bad_encoding", "file") from None
    names = _header_names(record_set, dataset_schema_of(record_set.dataset))
    rows = _csv_rows(text)
    column = 0
    errors: list[dict[str, Any]] = []
    pairs: list[tuple[str, str]] = []
    try:
        first = next(rows, None)
        if first is None:
            raise _invalid(_("The file is empty."), "file_empty", "file")
        line, cells = first
        header = [c.strip().casefold() for c in cells]
        if len(cells) > 1:
            found = [n for n, h in enumerate(header) if h in names]
            if not found:
                raise _invalid(
                    _("The file has several columns, but none is named '%(field)s'. Upload one "
                      "column of values, or name the column like the field.")
                    % {"field": record_set.identifier_field},
                    "file_no_identifier_column",
                    "file",
                )  # fmt: skip
            column = found[0]
        elif header[0] not in names:
            pairs.append((str(line), cells[0]))
        for line, cells in rows:
            pairs.append((str(line), cells[column] if column < len(cells) else ""))
    except csv.Error as exc:
        raise _invalid(
            _("The CSV file is malformed: %(err)s") % {"err": exc}, "file_bad_csv", "file"
        ) from None
    values = _clean_values(kind, pairs, errors)
    return values, errors, len(pairs)


def record_set_identifiers_import_csv(
    *, actor: Actor, record_set: RecordSet, uploaded_file: Any, mode: str = "add"
) -> IdentifiersChanged:
    """Add (``mode="add"``) or replace (``"replace"``) the watched values from a CSV file: one
    column, or a column named like the identifier field; a header row is optional (recognised
    by that name); UTF-8 with or without BOM (Windows-1257 when the bytes are not UTF-8); at
    most 10 MB. If any line is not valid nothing changes, and the error lists the lines
    (``location`` = line number, at most the first 100)."""
    _require_manager(actor, record_set.institution_id)
    if mode not in IMPORT_MODES:
        raise _invalid(_("Choose whether to add or replace the values."), "invalid_mode", "mode")
    kind = _kind_of(record_set)
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > MAX_CSV_BYTES:
        raise _too_large()
    data = uploaded_file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise _too_large()
    values, errors, lines = _read_csv(record_set, data, kind)
    if errors:
        raise _invalid_values(errors)
    return _apply(
        actor=actor,
        record_set=record_set,
        add=values,
        remove=[],
        replace=mode == "replace",
        source=f"csv:{mode}",
        lines=lines,
    )


def _too_large() -> ValidationError:
    return _invalid(
        _("The file is larger than %(mb)s MB.") % {"mb": MAX_CSV_BYTES // (1024 * 1024)},
        "file_too_large",
        "file",
    )


# --- membership and the record set's feed --------------------------------------------------------

_CACHE_MAX_VALUES = 2_000_000
# record set id → ((revision, created_at), values); created_at guards against a reused id
_cache: OrderedDict[int, tuple[tuple[int, Any], frozenset[str]]] = OrderedDict()
_cache_lock = threading.Lock()


def forget_values(record_set_id: int) -> None:
    with _cache_lock:
        _cache.pop(record_set_id, None)


def watched_values(record_set: RecordSet) -> frozenset[str]:
    """The record set's watched values, cached per process under (id, revision)."""
    token = (record_set.revision, record_set.created_at)
    with _cache_lock:
        hit = _cache.get(record_set.pk)
        if hit is not None and hit[0] == token:
            _cache.move_to_end(record_set.pk)
            return hit[1]
    values = frozenset(
        RecordSetIdentifier.objects.filter(record_set_id=record_set.pk)
        .values_list("value", flat=True)
        .iterator(chunk_size=10_000)
    )
    with _cache_lock:
        _cache[record_set.pk] = (token, values)
        _cache.move_to_end(record_set.pk)
        total = sum(len(v) for _r, v in _cache.values())
        while total > _CACHE_MAX_VALUES and len(_cache) > 1:
            _key, (_rev, evicted) = _cache.popitem(last=False)
            total -= len(evicted)
    return values


def _outdated() -> Conflict:
    return Conflict(
        _("The record set no longer fits the dataset's schema or your access grant (its "
          "identifier field or a condition uses a field you no longer receive). Change or "
          "delete the record set."),
        code="record_set_outdated",
    )  # fmt: skip


def _values_at(data: Any, parts: tuple[str, ...]) -> Iterator[str]:
    """The record's values at a field path as ``extract_identifiers`` reports them (strings;
    nested fields through lists of objects)."""
    if not isinstance(data, dict):
        return
    value = data.get(parts[0])
    if value is None:
        return
    if len(parts) == 1:
        yield str(value)
    elif isinstance(value, list):
        for item in value:
            yield from _values_at(item, parts[1:])


def record_set_member(
    record_set: RecordSet, *, schema: SchemaDef | None = None, today: date | None = None
) -> Member:
    """``member(record_data) -> bool`` for the record set (see the module docstring). Raises
    ``record_set_outdated`` when the definition no longer fits the schema or the grant."""
    schema = schema or dataset_schema_of(record_set.dataset)
    grant = record_set.grant
    tests: list[Member] = []
    if record_set.identifier_field:
        path = record_set.identifier_field
        if path not in dict(schema.identifier_paths()) or not _granted(path, grant):
            raise _outdated()
        values = watched_values(record_set)
        parts = tuple(path.split("."))
        if len(parts) == 1:
            name = parts[0]

            def listed(data: dict[str, Any]) -> bool:
                value = data.get(name)
                return value is not None and str(value) in values

        else:

            def listed(data: dict[str, Any]) -> bool:
                return any(v in values for v in _values_at(data, parts))

        tests.append(listed)
    if record_set.conditions:
        try:
            conditions = validate_conditions(record_set.conditions, schema)
        except ValidationError:
            raise _outdated() from None
        if not all(_granted(c.field, grant) for c in conditions):
            raise _outdated()
        tests.append(compile_predicate(conditions, today=today))
    if not tests:
        return lambda data: True
    if len(tests) == 1:
        return tests[0]
    first, second = tests

    def member(data: dict[str, Any]) -> bool:
        return first(data) and second(data)

    return member


def record_set_terms(record_set: RecordSet) -> str:
    """A stable digest of what decides membership apart from the watched values (adding a
    value does not invalidate cursors; changing the conditions does)."""
    document = orjson.dumps(
        {
            "record_set": record_set.pk,
            "identifier_field": record_set.identifier_field,
            "conditions": record_set.conditions,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(document, digest_size=8).hexdigest()


def record_set_changes(
    *,
    caller: Caller,
    record_set_id: int,
    cursor: str | None = None,
    limit: int = DEFAULT_CHANGES,
    purpose: str = "",
) -> ChangesPage:
    """One page of the record set's change feed: the grant's feed narrowed by membership,
    audited as ``record_set.changes``. A record set of another institution (or none):
    ``record_set_not_found``. Scans at most ``max(limit × 20, 20,000)`` change-log entries per
    call, so a narrow set may answer an empty page with ``has_more``."""
    record_set = (
        RecordSet.objects.select_related("dataset", "dataset__schema", "grant")
        .filter(pk=record_set_id, institution_id=caller.institution_id)
        .first()
        if isinstance(record_set_id, int) and not isinstance(record_set_id, bool)
        else None
    )
    if record_set is None:
        raise selectors.record_set_not_found()
    member = record_set_member(record_set)
    scan = max(limit * FEED_SCAN_FACTOR, FEED_SCAN_MIN) if isinstance(limit, int) else None
    return records_changes(
        caller=caller,
        dataset_code=record_set.dataset.code,
        permission_number=record_set.grant.permission_number,
        purpose=purpose,
        cursor=cursor,
        limit=limit,
        member=member,
        # a re-checked record's earlier state is judged by the set as of the re-check's day
        member_on=lambda day: record_set_member(record_set, today=day),
        terms=record_set_terms(record_set),
        operation="record_set.changes",
        scan_limit=scan,
    )
