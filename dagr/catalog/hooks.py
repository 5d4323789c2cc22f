"""How the catalogue asks about stored records without importing the records app (records sits
above catalog in the dependency order). ``dagr.records`` registers its checker in ``ready()``.

A checker answers: given a dataset and a proposed schema, how many stored (not deleted) records
would be invalid under it, with up to ``limit`` examples ``(record key, [RecordError])``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Dataset
    from .schema import SchemaDef

RecordChecker = Callable[["Dataset", "SchemaDef", int], tuple[int, list[tuple[str, list[Any]]]]]
RecordCounter = Callable[["Dataset"], int]

_checkers: list[RecordChecker] = []
_counters: list[RecordCounter] = []


def register_record_checker(checker: RecordChecker) -> None:
    _checkers.append(checker)


def register_record_counter(counter: RecordCounter) -> None:
    _counters.append(counter)


def invalid_stored_records(
    dataset: Dataset, schema: SchemaDef, limit: int = 10
) -> tuple[int, list[tuple[str, list[Any]]]]:
    total, examples = 0, []
    for checker in _checkers:
        count, found = checker(dataset, schema, limit)
        total += count
        examples.extend(found)
    return total, examples[:limit]


def stored_record_count(dataset: Dataset) -> int:
    return sum(counter(dataset) for counter in _counters)


def unregister_record_checker(checker: RecordChecker) -> None:
    if checker in _checkers:
        _checkers.remove(checker)


def unregister_record_counter(counter: RecordCounter) -> None:
    if counter in _counters:
        _counters.remove(counter)


# --- schema change listeners -------------------------------------------------------------------
# Called inside the transaction that stores a new schema version (``old`` is None for a new
# dataset), e.g. so that the records app can re-index identifier fields that were added.

SchemaListener = Callable[["Dataset", "SchemaDef | None", "SchemaDef"], None]
_schema_listeners: list[SchemaListener] = []


def register_schema_listener(listener: SchemaListener) -> None:
    _schema_listeners.append(listener)


def unregister_schema_listener(listener: SchemaListener) -> None:
    if listener in _schema_listeners:
        _schema_listeners.remove(listener)


def schema_changed(dataset: Dataset, old: SchemaDef | None, new: SchemaDef) -> None:
    for listener in _schema_listeners:
        listener(dataset, old, new)


# --- sandbox datasets open to everyone -----------------------------------------------------------
# Some sandbox datasets are public by nature: the anonymised test datasets (``dagr.anonymisation``
# registers them in ``ready()``). They are shown in the public catalogue, access to them may be
# requested, and grants on them work through the normal data API like on a production dataset —
# a recipient's test system can run against them before its production access is approved.

OpenSandbox = Callable[[], "set[int]"]
_open_sandbox: list[OpenSandbox] = []


def register_open_sandbox(provider: OpenSandbox) -> None:
    _open_sandbox.append(provider)


def unregister_open_sandbox(provider: OpenSandbox) -> None:
    if provider in _open_sandbox:
        _open_sandbox.remove(provider)


def open_sandbox_ids() -> set[int]:
    """Ids of the sandbox datasets that are open to everyone (one small query per provider)."""
    found: set[int] = set()
    for provider in _open_sandbox:
        found |= provider()
    return found
