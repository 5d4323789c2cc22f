"""A small in-memory source for connector tests (the agent's real sources are tested with real
databases elsewhere): rows held in a list, read in cursor order after a value, in batches."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Col:
    name: str
    type: str


class MemorySource:
    def __init__(
        self,
        rows: list[dict[str, Any]],
        columns: list[Col] | None = None,
        *,
        delay_s: float = 0.0,
        fail_after: int | None = None,
        error_text: str = "boom",
    ) -> None:
        self.rows = rows
        self._columns = columns
        self.delay_s = delay_s
        self.fail_after = fail_after
        self.error_text = error_text
        self.closed = False
        self.reads: list[Any] = []

    def columns(self) -> list[Col]:
        if self._columns is not None:
            return self._columns
        first = self.rows[0] if self.rows else {}
        return [Col(k, _type(v)) for k, v in first.items()]

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]:
        self.reads.append(after)
        rows = self.rows
        if cursor_column:
            rows = sorted(
                (r for r in rows if after is None or r[cursor_column] > after),
                key=lambda r: r[cursor_column],
            )
        batch: list[dict[str, object]] = []
        for n, row in enumerate(rows, 1):
            if self.fail_after is not None and n > self.fail_after:
                raise RuntimeError(self.error_text)
            if self.delay_s:
                time.sleep(self.delay_s)
            batch.append(dict(row))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self.closed = True


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list | dict):
        return "json"
    return "string"


def people(n: int, *, start: int = 1) -> list[dict[str, Any]]:
    """Rows whose ``code`` is a valid-looking key; ``seq`` is the change column."""
    return [
        {
            "code": f"P{i:06d}",
            "name": f"  Name {i}  ",
            "born": f"{(i % 28) + 1:02d}.03.1990",
            "seq": i,
            "gone": False,
        }
        for i in range(start, start + n)
    ]


def register(options: Mapping[str, Any], secrets: Mapping[str, str]) -> MemorySource:
    """``kind: memory`` for the server (``register_source``): ``options.rows`` or a generated
    ``options.count`` of ``people``, ``options.delay_s`` per row; a ``password`` secret that
    the source puts into its error text when ``options.fail_after`` rows were read."""
    rows = options.get("rows") or people(int(options.get("count", 0)))
    return MemorySource(
        list(rows),
        delay_s=float(options.get("delay_s", 0.0)),
        fail_after=options.get("fail_after"),
        error_text=f"connection to db failed for password={secrets.get('password', '')}",
    )
