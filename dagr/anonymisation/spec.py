"""The release engine's input and output types (re-exported by ``engine``, which is where the
app imports them from; kept here so that ``privacy`` can use them without importing the
engine)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dagr.catalog.schema import SchemaDef

from .rules import RuleSet

Record = dict[str, Any]


@dataclass(frozen=True)
class DatasetInput:
    code: str
    schema: SchemaDef
    rules: RuleSet
    records: Callable[[], Iterator[Record]]  # a fresh iterator over the source records
    count: int  # how many records (for progress)
    # optional, a cheaper read for the pre-pass: a fresh iterator over the source records holding
    # only the given top-level fields (the pre-pass reads identifier fields only); None: records
    partial_records: Callable[[tuple[str, ...]], Iterator[Record]] | None = None
    # optional, the same records as ``records`` but as their JSON text (the stored form, as
    # read from the database): the release's transform parses them itself — with workers in
    # the workers, so that the caller's process neither parses nor pickles records
    raw_records: Callable[[], Iterator[str | bytes]] | None = None


# The levels a quasi-identifier can be seen at (``QuasiIdentifier.level``).
QI_LEVELS: tuple[str, ...] = ("exact", "year", "decade", "month", "territory", "parent")


@dataclass(frozen=True)
class QuasiIdentifier:
    """A quasi-identifier of the joined per-person view: ``dataset`` and field ``path``, seen at
    ``level`` (dates: ``year``/``decade``/``month``/``exact``; address codes: ``territory`` —
    the top-level unit — or ``parent``; anything else: ``exact``)."""

    dataset: str
    path: str
    level: str = "exact"


@dataclass(frozen=True)
class PrivacySettings:
    quasi_identifiers: tuple[QuasiIdentifier, ...]
    sensitive: tuple[tuple[str, str], ...] = ()  # (dataset, path) for l-diversity
    k: int = 5


@dataclass
class PrivacyReport:
    passed: bool
    k: int | None  # the smallest equivalence class of the per-person view (None: no persons)
    k_required: int
    l_diversity: int | None  # fewest distinct sensitive values in a class (None: none declared)
    details: dict[str, Any] = field(default_factory=dict)  # JSON: per-dataset counts, advice, …

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "k": self.k,
            "k_required": self.k_required,
            "l": self.l_diversity,
            **self.details,
        }


@dataclass(frozen=True)
class ReleaseSpec:
    key: bytes
    datasets: tuple[DatasetInput, ...]
    privacy: PrivacySettings
    address_codes: Iterable[tuple[str, str | None]] | None = None  # (code, parent) of the register
    # processes transforming chunks of records (1: in the caller's process). More than 1 forks
    # workers after the pre-pass (``engine._run_forked``): the same output and report
    workers: int = 1
