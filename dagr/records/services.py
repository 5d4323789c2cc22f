"""The record store's services, as other apps and the API call them.

What does what:

- ``loading``: ``records_upsert`` — validate a stream of records and write it in one transaction
  (module docstring: batches, idempotence);
- ``deleting``: ``records_delete`` — soft deletes by key;
- ``writer``: the batched SQL writer, the per-dataset lock (ordering guarantee of the change log)
  and compiled schemas;
- ``loads``: ``Load`` rows — the "may load this dataset" guard, finishing and failed loads;
- ``snapshot``: the snapshot safety rule;
- ``reevaluation``: change-log entries for records a relative-date condition judges anew.

This module keeps the connection actor and the catalogue's hook, and re-exports the public names
so that callers import them from one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagr.catalog.models import Dataset
from dagr.catalog.schema import SchemaDef, compile_validator

from .deleting import records_delete
from .loading import (
    MAX_ERRORS,
    MAX_VALUE_LENGTH,
    IdentifierExtractor,
    UnreadableRecord,
    identifier_extractor,
    records_upsert,
)
from .loads import dataset_load_check
from .models import Record
from .reevaluation import changes_mark_reevaluated
from .snapshot import (
    snapshot_deletions_problem,
    snapshot_max_delete_share,
    snapshot_needs_confirmation,
)
from .writer import CompiledSchema, compiled_schema, content_hash

if TYPE_CHECKING:
    from dagr.connections.tokens import Principal

__all__ = [
    "MAX_ERRORS",
    "MAX_VALUE_LENGTH",
    "CompiledSchema",
    "ConnectionActor",
    "IdentifierExtractor",
    "UnreadableRecord",
    "changes_mark_reevaluated",
    "compiled_schema",
    "content_hash",
    "dataset_load_check",
    "identifier_extractor",
    "records_delete",
    "records_upsert",
    "snapshot_deletions_problem",
    "snapshot_max_delete_share",
    "snapshot_needs_confirmation",
    "stored_records_check",
]


@dataclass(frozen=True)
class ConnectionActor:
    """A provider system acting through its technical connection (the API's actor for loads).
    Rules see ``is_connection``; audit entries and loads name the client id."""

    connection_id: int
    client_id: str
    institution_id: int
    kind: str
    pk = None
    is_authenticated = True
    is_active = True
    is_portal_admin = False
    is_connection = True

    @classmethod
    def from_principal(cls, principal: Principal) -> ConnectionActor:
        return cls(
            principal.connection_id, principal.client_id, principal.institution_id, principal.kind
        )

    def __str__(self) -> str:
        return f"connection {self.client_id}"


# --- the catalogue's hooks -----------------------------------------------------------------------


def stored_records_check(
    dataset: Dataset, schema: SchemaDef, limit: int
) -> tuple[int, list[tuple[str, list[Any]]]]:
    """How many live records of ``dataset`` would be invalid under ``schema``, with up to
    ``limit`` examples ``(key, [RecordError])``. Streams the records."""
    validate = compile_validator(schema)
    examples: list[tuple[str, list[Any]]]
    invalid, examples = 0, []
    rows = (
        Record.objects.filter(dataset=dataset, deleted_at__isnull=True)
        .order_by("pk")
        .values_list("key", "data")
        .iterator(chunk_size=2000)
    )
    for key, data in rows:
        normalised, problems = validate(data)
        if normalised is None:
            invalid += 1
            if len(examples) < limit:
                examples.append((key, problems))
    return invalid, examples
