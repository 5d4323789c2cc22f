"""What the batch lookup (``services.records_lookup``, up to 1,000 identifiers per call) does
per value and per record, made cheap (``docs/performance.md``, "Batch lookup"): the checks of
the values in one loop with the common case (an ordinary string) inline, and per (dataset,
grant) definition — compiled once, like ``access.subject_paths`` — the projection of a record
onto the granted fields and the extraction of the identifier values the audit records as the
access's subjects. Each compiled form gives exactly what the general function gives
(``project_fields``, ``extract_identifiers`` filtered by ``subject_paths``); shapes they do not
cover (nested fields) use the general function. ``tests/retrieval/test_lookup_twin.py`` compares
whole answers and audit entries with the code before this module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagr.catalog.schema import extract_identifiers
from dagr.core import identifiers
from dagr.grants.cache import ActiveGrant
from dagr.grants.fields import project_fields

from .access import MAX_VALUE_LENGTH, _identifier_value, subject_paths
from .datasets import DatasetInfo

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LookupPlan:
    project: Callable[[Record], Record]
    subjects: Callable[[list[Record]], list[str]]


_plans: dict[tuple[int, int], tuple[DatasetInfo, ActiveGrant, LookupPlan]] = {}


def lookup_plan(dataset: DatasetInfo, grant: ActiveGrant) -> LookupPlan:
    """The plan of this (dataset, grant) pair: both are immutable and replaced when their
    definition is reloaded, so a plan is used only for the very same objects (by identity)."""
    key = (dataset.id, grant.id)
    cached = _plans.get(key)
    if cached is not None and cached[0] is dataset and cached[1] is grant:
        return cached[2]
    plan = LookupPlan(_projector(grant), _subject_extractor(dataset, grant))
    if len(_plans) > 10_000:
        _plans.clear()
    _plans[key] = (dataset, grant, plan)
    return plan


def _projector(grant: ActiveGrant) -> Callable[[Record], Record]:
    tree = grant.tree
    if any(sub is not None for sub in tree.values()):
        return lambda data: project_fields(data, tree)
    # Only top-level fields granted: ``project_fields`` keeps each present one, in tree order.
    names = tuple(tree)
    return lambda data: {name: data[name] for name in names if name in data}


def _subject_extractor(
    dataset: DatasetInfo, grant: ActiveGrant
) -> Callable[[list[Record]], list[str]]:
    paths = subject_paths(dataset, grant)
    schema = dataset.schema
    if any("." in path for path in paths):

        def nested(found: list[Record]) -> list[str]:
            return [
                value
                for data in found
                for path, value in extract_identifiers(schema, data)
                if path in paths
            ]

        return nested
    # Top-level identifier fields only: ``extract_identifiers`` gives ``str(value)`` of each one
    # that is present and not null (the audit records the set of values; order is irrelevant).
    names = tuple(path for path in dataset.identifier_paths if path in paths)

    def flat(found: list[Record]) -> list[str]:
        out: list[str] = []
        append = out.append
        for data in found:
            for name in names:
                value = data.get(name)
                if value is not None:
                    append(value if type(value) is str else str(value))
        return out

    return flat


def asked_values(values: list[Any], limit: int) -> list[str]:
    """What the audit records as asked: the first ``limit`` text or number values, stripped and
    cut to ``MAX_VALUE_LENGTH`` (as ``str(v).strip()[:MAX_VALUE_LENGTH]``)."""
    out: list[str] = []
    append = out.append
    for v in values[:limit]:
        if type(v) is str:
            append(v.strip()[:MAX_VALUE_LENGTH])
        elif isinstance(v, str | int) and not isinstance(v, bool):
            append(str(v).strip()[:MAX_VALUE_LENGTH])
    return out


def sort_values(values: list[Any], kind: str | None) -> tuple[dict[str, str], list[str]]:
    """``(sent, invalid)``: ``sent`` maps each distinct stored form (``identifiers.normalise``)
    of a well-formed value to the value as first written (stripped), in order; ``invalid`` the
    values (stripped, distinct, in order) that cannot be one of ``kind``. Raises
    ``invalid_value`` at ``values.<n>`` for the first value that is no identifier value at all —
    exactly as calling ``access._identifier_value`` and ``access._is_well_formed`` per value."""
    validator = identifiers.VALIDATORS.get(kind) if kind is not None else None
    sent: dict[str, str] = {}
    invalid: list[str] = []
    seen_invalid: set[str] = set()
    for n, v in enumerate(values):
        if type(v) is str:
            text = v.strip()
            if not text or len(text) > MAX_VALUE_LENGTH or "\x00" in text:
                _identifier_value(v, f"values.{n}", kind)  # raises invalid_value
            # ``normalise`` leaves a stripped value with nothing to remove unchanged
            stored = text if text.isalnum() else identifiers.normalise(kind, text)
        else:
            stored = _identifier_value(v, f"values.{n}", kind)
            text = str(v).strip()
        if validator is None or validator(stored):
            if stored not in sent:
                sent[stored] = text
        elif text not in seen_invalid:
            seen_invalid.add(text)
            invalid.append(text)
    return sent, invalid
