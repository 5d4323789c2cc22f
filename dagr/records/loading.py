"""Loading records: validate, then insert / update / skip / delete, with history and change log.

Every load is one transaction. Records are validated with the dataset's compiled schema
validator as they stream in; while all are valid they are written in batches of
``BATCH_SIZE`` with hand-written SQL (``executemany`` on SQLite, ``COPY`` on PostgreSQL). At
the first invalid record writing stops, validation continues to the end to report every invalid
record (position, key, field, reason), and the transaction is rolled back: nothing is stored.
A failed load is still recorded as a ``Load`` row with status ``failed`` and its errors.


Idempotence: a record whose canonical content hash equals the stored one is counted
``unchanged`` and writes nothing; loading the same data twice creates no versions and no
change entries. The same key twice in one input is applied in order (the second occurrence
updates the first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.catalog.models import Dataset
from dagr.catalog.schema import SchemaDef, compile_validator, extract_identifiers
from dagr.core.actors import Actor
from dagr.core.errors import ValidationError

from .loads import (
    Rejected,
    actor_fields,
    dataset_load_check,
    load_finish,
    load_record_failure,
    refusal_error,
)
from .models import Load
from .snapshot import snapshot_deletions_problem
from .writer import BATCH_SIZE, CompiledSchema, Writer, bulk_session, compiled_schema, lock_dataset

MAX_ERRORS = 10_000
MAX_VALUE_LENGTH = 255


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """Stands in the input stream for an item that could not be parsed (e.g. an NDJSON line that
    is not JSON): counted and reported as an invalid record at its position."""

    code: str
    message: str


def _current_schema(dataset: Dataset) -> CompiledSchema:
    schema = dataset.schema
    if schema is None:
        raise ValidationError(_("The dataset has no schema yet."), code="no_schema")
    return compiled_schema(schema)


def records_upsert(
    *,
    actor: Actor,
    dataset: Dataset,
    records: Iterable[Any],
    source: str = Load.Source.API,
    mode: str = Load.Mode.UPSERT,
    details: dict[str, Any] | None = None,
    coerce: bool = False,
    max_errors: int = MAX_ERRORS,
    confirm_deletions: int | None = None,
    validated: CompiledSchema | None = None,
) -> Load:
    """Load ``records`` (an iterable, consumed once, never held whole) into ``dataset``.

    ``mode`` is ``upsert`` (insert new, update changed, skip unchanged) or ``snapshot`` (the
    same, then delete every live record whose key was not in the input). Returns the ``Load``
    with its counts. If any record is invalid nothing is written and ``ValidationError`` is
    raised with ``errors``: ``{"position", "key", "field", "code", "message"}`` for each
    problem (``position`` counts records from 1; at most ``max_errors`` are listed,
    ``extra["invalid"]`` counts every invalid record); the failed ``Load`` is still recorded.
    ``coerce`` accepts text cells for typed values (file uploads).

    Snapshot safety: a snapshot that holds no records, or that would delete more than
    ``DAGR_SNAPSHOT_MAX_DELETE_SHARE`` of the live records, is refused (``Conflict``
    ``snapshot_deletions_unconfirmed`` with ``would_delete`` and ``live``) unless
    ``confirm_deletions`` equals the number it would delete; a given ``confirm_deletions``
    that differs is refused too. The number is known only once the input has been read, so it
    is counted inside the load's transaction and a refusal rolls everything back; the refused
    load is recorded as failed, like one with invalid records.

    ``validated``: the caller already validated every record with this compiled schema and
    passes the normalised records (the connector engine, which must skip or report invalid
    rows one by one). If it is the dataset's current compiled schema, the records are not
    validated a second time; every other rule (key and identifier lengths, snapshot safety,
    change log, audit) applies as always. Any other schema (a new version meanwhile): they are
    validated as usual.

    Concurrency: see the module docstring — loads of one dataset are serialised, and change
    sequence numbers of a dataset commit in order.
    """
    if mode not in (Load.Mode.UPSERT, Load.Mode.SNAPSHOT):
        raise ValidationError(_("Unknown load mode."), code="invalid_mode")
    if source not in Load.Source.values:
        raise ValidationError(_("Unknown load source."), code="invalid_source")
    if confirm_deletions is not None and (mode != Load.Mode.SNAPSHOT or confirm_deletions < 0):
        raise ValidationError(
            _("confirm_deletions is a number of deletions and applies to snapshot loads only."),
            code="invalid_confirm_deletions",
        )
    dataset_load_check(actor=actor, dataset=dataset)
    compiled = _current_schema(dataset)
    if coerce:
        compiled = CompiledSchema(
            compiled.version_id,
            compiled.number,
            compiled.schema,
            compile_validator(compiled.schema, coerce=True),
        )
    details = details or {}
    started_at = timezone.now()
    try:
        with bulk_session(), transaction.atomic():
            lock_dataset(dataset)
            load = Load.objects.create(
                dataset=dataset,
                mode=mode,
                source=source,
                details=details,
                started_at=started_at,
                **actor_fields(actor),
            )
            writer = Writer(
                dataset=dataset,
                load=load,
                compiled=compiled,
                snapshot=mode == Load.Mode.SNAPSHOT,
            )
            live = writer.live_count() if mode == Load.Mode.SNAPSHOT else 0
            try:
                with writer.guard():
                    _stream(
                        writer, compiled, records, max_errors, prevalidated=validated is compiled
                    )
            finally:
                writer.close()
            if mode == Load.Mode.SNAPSHOT:
                refusal = snapshot_deletions_problem(
                    received=writer.counts.received,
                    live=live,
                    would_delete=writer.live_not_touched_count(),
                    confirm_deletions=confirm_deletions,
                )
                if refusal is not None:
                    raise Rejected(
                        errors=[refusal_error(refusal)],
                        received=writer.counts.received,
                        reason=refusal,
                    )
                for keys in writer.live_keys_not_touched():
                    writer.delete(keys)
            return load_finish(load, writer.counts, actor, dataset)
    except Rejected as rejected:
        failed = load_record_failure(
            actor=actor,
            dataset=dataset,
            mode=mode,
            source=source,
            details=details,
            started_at=started_at,
            rejected=rejected,
        )
        if rejected.reason is not None:
            rejected.reason.extra["load_id"] = failed.pk
            raise rejected.reason from None
        raise ValidationError(
            _("%(invalid)d of %(received)d records are not valid; nothing was loaded.")
            % {"invalid": rejected.invalid, "received": rejected.received},
            code="invalid_records",
            errors=rejected.errors,
            invalid=rejected.invalid,
            received=rejected.received,
            load_id=failed.pk,
        ) from None


IdentifierExtractor = Callable[[dict[str, Any]], list[tuple[str, str]]]


def identifier_extractor(schema: SchemaDef) -> IdentifierExtractor:
    """``record -> [(path, value)]`` of the identifier values that get a ``RecordIdentifier`` row:
    every identifier of ``extract_identifiers`` except the key field (lookups by the key use
    ``Record.key``; see ``selectors.record_list_by_identifier``). Flat schemas take a fast path:
    this runs for every record of every load."""
    key = schema.key
    if any(f.fields for f in schema.fields if f.identifier is None and f.type == "list"):

        def nested(data: dict[str, Any]) -> list[tuple[str, str]]:
            return [item for item in extract_identifiers(schema, data) if item[0] != key]

        return nested
    names = tuple(f.name for f in schema.fields if f.identifier and f.name != key)

    def flat(data: dict[str, Any]) -> list[tuple[str, str]]:
        found = []
        for name in names:
            value = data.get(name)
            if value is not None:
                found.append((name, str(value)))
        return found

    return flat


def _stream(
    writer: Writer,
    compiled: CompiledSchema,
    records: Iterable[Any],
    max_errors: int,
    *,
    prevalidated: bool = False,
) -> None:
    key_field = compiled.schema.key
    identifiers_of = identifier_extractor(compiled.schema)
    _validate_and_write(
        writer,
        compiled,
        records,
        max_errors,
        writer.upsert,
        key_field,
        identifiers_of,
        prevalidated=prevalidated,
    )


def _as_valid(record: Any) -> tuple[Any, list[Any]]:
    """The validator of records the caller validated with the current schema already."""
    return record, []


def _validate_and_write(
    writer: Writer,
    compiled: CompiledSchema,
    records: Iterable[Any],
    max_errors: int,
    upsert: Callable[..., None],
    key_field: str,
    identifiers_of: IdentifierExtractor,
    *,
    prevalidated: bool = False,
) -> None:
    validate = _as_valid if prevalidated else compiled.validate
    too_long = _("is longer than %(max)d characters") % {"max": MAX_VALUE_LENGTH}
    errors: list[dict[str, Any]] = []
    invalid = 0
    batch: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {}
    position = 0
    for position, raw in enumerate(records, 1):
        data, problems = validate(raw)
        if data is None:
            invalid += 1
            if isinstance(raw, UnreadableRecord):
                if len(errors) < max_errors:
                    errors.append(
                        {
                            "position": position,
                            "key": None,
                            "field": "",
                            "code": raw.code,
                            "message": raw.message,
                        }
                    )
                continue
            key = raw.get(key_field) if isinstance(raw, dict) else None
            for problem in problems:
                if len(errors) < max_errors:
                    errors.append(
                        {
                            "position": position,
                            "key": None if key is None else shown(str(key)),
                            **problem.as_dict(),
                            "field": shown(problem.field),
                        }
                    )
            continue
        key = str(data[key_field])
        idents = identifiers_of(data)
        if len(key) > MAX_VALUE_LENGTH or (idents and _too_long(idents)):
            # keys and identifiers are indexed: at most 255 characters
            invalid += 1
            long_paths = [key_field] if len(key) > MAX_VALUE_LENGTH else []
            long_paths += [p for p, v in idents if len(v) > MAX_VALUE_LENGTH]
            for path in dict.fromkeys(long_paths):
                if len(errors) < max_errors:
                    errors.append(
                        {
                            "position": position,
                            "key": key[:40],
                            "field": path,
                            "code": "too_long",
                            "message": too_long,
                        }
                    )
            continue
        if invalid:
            continue  # keep validating, write nothing more
        if key in batch:  # the same key again: apply what came before first
            upsert(batch)
            batch = {}
        batch[key] = (data, idents)
        if len(batch) >= BATCH_SIZE:
            upsert(batch)
            batch = {}
    writer.counts.received = position
    writer.settle()  # the batch still being written: its outcome (or error) comes first
    if invalid:
        raise Rejected(errors=errors, invalid=invalid, received=position)
    if batch:
        upsert(batch, last=True)


def _too_long(idents: list[tuple[str, str]]) -> bool:
    # a plain loop: it runs for every record, and any() over a generator costs more
    for _path, value in idents:  # noqa: SIM110
        if len(value) > MAX_VALUE_LENGTH:
            return True
    return False


def shown(text: str) -> str:
    """A key or field name as an error shows (and the failed load stores) it: a NUL character
    becomes U+FFFD, which PostgreSQL can store."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
