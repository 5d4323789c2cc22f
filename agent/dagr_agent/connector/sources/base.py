"""The interface every connector source offers (SQL, files, HTTP JSON APIs).

A source yields batches of plain dict rows; the engine maps them to dataset records. Column
types are the small vocabulary below, enough to detect schema drift (a new, missing or
retyped column) between runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

COLUMN_TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "json")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of COLUMN_TYPES


class SourceError(Exception):
    """A source cannot be opened or read. The message is for the person running the connector
    and never contains a secret (sources mask them before raising)."""


class Source(Protocol):
    def columns(self) -> list[Column]:
        """What the source offers now (for drift detection)."""
        ...

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]:
        """Batches of rows; ordered by ``cursor_column`` ascending when given; only rows whose
        cursor value is greater than ``after`` (when given)."""
        ...

    def close(self) -> None: ...
