"""What a load of an uploaded file would do — computed without writing anything.

It applies exactly what ``records_upsert(coerce=True)`` applies, using the loader's own
helpers: the same compiled validator with text coercion, the same length limit on keys and
identifier values, the same canonical content hash compared with the stored records, and the
same treatment of a key that repeats in the file (applied in order: the first occurrence is
compared with the stored record, every later one with the occurrence before it — so a key twice
in a new-to-the-dataset file counts one "created" and one "unchanged" or "changed", exactly as
the load will count it). A record that was deleted earlier and comes back counts as created. For
a snapshot every live record whose key is not in the file counts as deleted, and ``live`` is the
number of live records (what the snapshot-safety rule compares the deletions with). Tests load the
file afterwards and compare the load's counts with the preview's.

Memory: the file is streamed; per valid row the preview keeps 17 bytes (a 64-bit hash of the
key, a 64-bit prefix of the content hash, a flag) and sorts the key hashes once at the end, so a
file of two million rows is previewed in well under 200 MB.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.catalog.schema import compile_validator
from dagr.records.models import Record
from dagr.records.services import (
    MAX_VALUE_LENGTH,
    UnreadableRecord,
    compiled_schema,
    content_hash,
    identifier_extractor,
)

FIRST_ROWS = 20
MAX_ERRORS = 200
LOOKUP_CHUNK = 500
PROGRESS_EVERY = 5000

_NOT_STORED, _SAME, _DIFFERENT = 0, 1, 2


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class _Tally:
    """Valid rows in file order: key hash, content hash prefix, how the stored record compares."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.keys = array("Q")
        self.digests = array("Q")
        self.flags = array("b")
        self.pending: list[tuple[str, str]] = []  # (key, content hash) waiting for a lookup

    def add(self, key: str, digest: str) -> None:
        self.pending.append((key, digest))
        if len(self.pending) >= LOOKUP_CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        stored = dict(
            Record.objects.filter(
                dataset=self.dataset,
                deleted_at=None,
                key__in={key for key, _d in self.pending},
            ).values_list("key", "content_hash")
        )
        for key, digest in self.pending:
            old = stored.get(key)
            self.keys.append(_hash64(key))
            self.digests.append(int(digest[:16], 16))
            self.flags.append(
                _NOT_STORED if old is None else _SAME if old == digest else _DIFFERENT
            )
        self.pending = []

    def counts(self) -> tuple[int, int, int, int]:
        """``(created, changed, unchanged, live records present in the file)``."""
        self.flush()
        created = changed = unchanged = present = 0
        previous_key, previous_index = -1, -1
        for packed in sorted((key << 32) | i for i, key in enumerate(self.keys)):
            key, index = packed >> 32, packed & 0xFFFFFFFF
            if key != previous_key:  # first occurrence: compared with the stored record
                flag = self.flags[index]
                if flag == _NOT_STORED:
                    created += 1
                else:
                    present += 1
                    if flag == _SAME:
                        unchanged += 1
                    else:
                        changed += 1
            elif self.digests[index] == self.digests[previous_index]:
                unchanged += 1
            else:
                changed += 1
            previous_key, previous_index = key, index
        return created, changed, unchanged, present


def preview_rows(
    *,
    dataset: Dataset,
    rows: Iterable[tuple[int, Any]],
    snapshot: bool,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The preview of ``rows`` (``(row number, raw record)``): counts, the first valid records as
    they will be stored, and the per-row errors (at most ``MAX_ERRORS``)."""
    assert dataset.schema is not None
    compiled = compiled_schema(dataset.schema)
    schema = compiled.schema
    validate = compile_validator(schema, coerce=True)
    identifiers_of = identifier_extractor(schema)
    key_field = schema.key
    too_long = _("is longer than %(max)d characters") % {"max": MAX_VALUE_LENGTH}
    tally = _Tally(dataset)
    first: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    error_rows: set[int] = set()
    received = invalid = 0

    def problem(row: int, field: str, code: str, message: str) -> None:
        if len(errors) < MAX_ERRORS:
            errors.append({"row": row, "field": field, "code": code, "message": str(message)})
            error_rows.add(row)

    for row_number, raw in rows:
        received += 1
        if on_progress is not None and received % PROGRESS_EVERY == 0:
            on_progress(received)
        data, problems = validate(raw)
        if data is None:
            invalid += 1
            if isinstance(raw, UnreadableRecord):
                problem(row_number, "", raw.code, raw.message)
            else:
                for p in problems:
                    problem(row_number, p.field, p.code, p.message)
            continue
        key = str(data[key_field])
        idents = identifiers_of(data)
        long_paths = [key_field] if len(key) > MAX_VALUE_LENGTH else []
        long_paths += [path for path, value in idents if len(value) > MAX_VALUE_LENGTH]
        if long_paths:
            invalid += 1
            for path in dict.fromkeys(long_paths):
                problem(row_number, path, "too_long", too_long)
            continue
        if len(first) < FIRST_ROWS:
            first.append({"row": row_number, "data": data})
        if not invalid:  # once a row is invalid the file cannot be loaded: only errors count
            tally.add(key, content_hash(data))
    created = changed = unchanged = deleted = live = 0
    if not invalid:
        created, changed, unchanged, present = tally.counts()
        if snapshot:
            live = Record.objects.filter(dataset=dataset, deleted_at=None).count()
            deleted = live - present
    return {
        "live": live,
        "schema_version": compiled.version_id,
        "received": received,
        "invalid": invalid,
        "created": created,
        "changed": changed,
        "unchanged": unchanged,
        "deleted": deleted,
        "columns": [f.name for f in schema.fields],
        "first_rows": first,
        "errors": errors,
        "more_errors": invalid > len(error_rows),
    }
