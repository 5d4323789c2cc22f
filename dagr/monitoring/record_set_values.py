"""Record sets: the watched values — change them in calls or import them from a CSV file.

Watched values are stripped, at most 255 characters, and kept in the form the loader stores
(``identifiers.normalise``: ``301227-18203`` is kept as ``30122718203``); values of a personal
code or company number field are checked like the loader checks them, values of an
integer field are written as the integer. Changes are written in batches that ignore
duplicates, in one transaction that also keeps ``identifier_count`` and bumps ``revision`` (the
key of the per-process value cache). Administrative changes are audited; the audit names how
many values changed, never the values (they are often personal codes).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import batched
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create
from dagr.catalog.schema import SchemaDef
from dagr.core import identifiers
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, ValidationError
from dagr.grants.selectors import dataset_schema_of
from dagr.records.selectors import change_position
from dagr.uploads.parsing import DELIMITERS, detect_encoding

from .models import RecordSet, RecordSetEvent, RecordSetIdentifier
from .record_set_feed import _outdated
from .record_sets import (
    CHECKED_KINDS,
    DELETE_BATCH,
    IMPORT_MODES,
    INSERT_BATCH,
    MAX_CSV_BYTES,
    MAX_REPORTED_ERRORS,
    MAX_VALUE_LENGTH,
    MAX_VALUES_PER_CALL,
    _error,
    _invalid,
    _require_manager,
    max_identifiers,
)

# --- watched values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """How values of the record set's identifier field are checked and written."""

    path: str
    kind: str  # personal_code, company_code, address_code, other
    integer: bool
    check: bool = True  # False: any value is taken (removing one that no longer passes)

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
        text = identifiers.normalise(self.kind, text)  # the form the loader stores
        if (
            self.check
            and self.kind in CHECKED_KINDS
            and not identifiers.is_valid_identifier(self.kind, text)
        ):
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


def _present(record_set_id: int, values: list[str] | None) -> set[str]:
    """Which of ``values`` (None: all) the set watches now."""
    qs = RecordSetIdentifier.objects.filter(record_set_id=record_set_id)
    if values is None:
        return set(qs.values_list("value", flat=True).iterator(chunk_size=10_000))
    found: set[str] = set()
    for batch in batched(values, DELETE_BATCH):
        found.update(qs.filter(value__in=batch).values_list("value", flat=True))
    return found


def _record_events(record_set: RecordSet, *, added: list[str], removed: list[str]) -> None:
    """The set's feed reports the records of added values as ``created`` and those of removed
    values as ``deleted``, at the change log's current position (``record_set_feed``)."""
    if not added and not removed:
        return
    position = change_position(dataset_id=record_set.dataset_id)
    events = [
        *(RecordSetEvent(record_set=record_set, position=position, value=v, added=False)
          for v in dict.fromkeys(removed)),
        *(RecordSetEvent(record_set=record_set, position=position, value=v, added=True)
          for v in dict.fromkeys(added)),
    ]  # fmt: skip
    for batch in batched(events, INSERT_BATCH):
        RecordSetEvent.objects.bulk_create(batch)


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
        present = _present(locked.pk, None if replace else [*add, *remove])
        if replace:
            removed = RecordSetIdentifier.objects.filter(record_set_id=locked.pk).delete()[0]
        elif remove:
            removed = _delete(locked.pk, remove)
        _insert(locked.pk, add)
        kept = set(add)
        gone = [
            v for v in (sorted(present) if replace else remove) if v in present and v not in kept
        ]
        _record_events(locked, added=[v for v in add if v not in present], removed=gone)
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
        _Kind(kind.path, kind.kind, kind.integer, check=False),
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
