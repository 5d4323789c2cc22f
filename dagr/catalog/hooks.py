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
