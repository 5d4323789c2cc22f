"""What a load of an uploaded file would do — computed without writing anything.

It applies exactly what ``records_upsert(coerce=True)`` applies: the same compiled validator
with text coercion, the same canonical content hash against the stored records, the key from
the schema's key field, a repeated key counting once (the later row wins), and — for a
snapshot — every live record whose key is not in the file counted as deleted. A test loads the
file afterwards and compares the load's counts with the preview's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from dagr.catalog.models import Dataset
from dagr.catalog.schema import compile_validator
from dagr.records.models import Record
from dagr.records.services import compiled_schema, content_hash

FIRST_ROWS = 20
MAX_ERRORS = 200
LOOKUP_CHUNK = 500


def _chunks(items: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def preview_rows(
    *, dataset: Dataset, rows: Iterable[tuple[int, Any]], snapshot: bool
) -> dict[str, Any]:
    assert dataset.schema is not None
    compiled = compiled_schema(dataset.schema)
    schema = compiled.schema
    validate = compile_validator(schema, coerce=True)
    key_field = schema.key
    seen: dict[str, str] = {}  # key → content hash of its last row in the file
    first: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    received = invalid = 0
    for chunk in _chunks(rows, LOOKUP_CHUNK):
        for row_number, raw in chunk:
            received += 1
            data, problems = validate(raw)
            if data is None:
                invalid += 1
                if len(errors) < MAX_ERRORS:
                    errors.extend(
                        {"row": row_number, "field": p.field, "message": p.message}
                        for p in problems
                    )
                continue
            seen[str(data[key_field])] = content_hash(data)
            if len(first) < FIRST_ROWS:
                first.append(data)
    created = changed = unchanged = 0
    keys = list(seen)
    stored: dict[str, str] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        stored.update(
            Record.objects.filter(
                dataset=dataset, deleted_at=None, key__in=keys[start : start + LOOKUP_CHUNK]
            ).values_list("key", "content_hash")
        )
    for key, digest in seen.items():
        if key not in stored:
            created += 1
        elif stored[key] == digest:
            unchanged += 1
        else:
            changed += 1
    deleted = 0
    if snapshot:
        live = Record.objects.filter(dataset=dataset, deleted_at=None).count()
        deleted = live - len(stored)
    return {
        "received": received,
        "invalid": invalid,
        "created": created,
        "changed": changed,
        "unchanged": unchanged,
        "deleted": deleted,
        "columns": [f.name for f in schema.fields],
        "first_rows": first,
        "errors": errors[:MAX_ERRORS],
        "more_errors": invalid > len({e["row"] for e in errors}),
    }
