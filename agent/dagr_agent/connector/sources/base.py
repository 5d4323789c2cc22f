"""The interface every connector source offers (SQL, files, HTTP JSON APIs).

A source yields batches of plain dict rows; the engine maps them to dataset records. Column
types are the small vocabulary below, enough to detect schema drift (a new, missing or
retyped column) between runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

KINDS = ("sql", "file", "http")
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


MASK = "***"


def mask(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with every secret value replaced by ``***`` (also URL-quoted forms)."""
    from urllib.parse import quote, quote_plus

    for value in sorted((v for v in secrets.values() if v), key=len, reverse=True):
        for form in {value, quote(value, safe=""), quote_plus(value)}:
            text = text.replace(form, MASK)
    return text


def source_error(exc: BaseException, secrets: Mapping[str, str], what: str = "") -> SourceError:
    """A ``SourceError`` for ``exc`` with every secret masked (raise it ``from None`` so the
    original exception, which may carry a secret, is not chained)."""
    detail = f"{type(exc).__name__}: {exc}"
    return SourceError(mask(f"{what}{': ' if what else ''}{detail}"[:2000], secrets))


def value_type(value: object) -> str | None:
    """The column type of one value (None for a null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, dict | list):
        return "json"
    return "string"


def infer_columns(rows: Iterable[Mapping[str, object]]) -> list[Column]:
    """Columns from sample rows, in first-seen order; a column whose values disagree on a type
    is ``number`` (integers and numbers) or ``string``; all-null columns are ``string``."""
    types: dict[str, str | None] = {}
    for row in rows:
        for name, value in row.items():
            seen = value_type(value)
            known = types.get(name)
            if name not in types or known is None:
                types[name] = seen
            elif seen is not None and seen != known:
                types[name] = "number" if {seen, known} == {"integer", "number"} else "string"
    return [Column(name, kind or "string") for name, kind in types.items()]


def cursor_key(value: object) -> object:
    """A comparable form of a cursor value: text of digits compares as a number (files and
    JSON give strings), dates and datetimes as ISO text."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def ordered_after(
    rows: Iterable[dict[str, object]], cursor_column: str, after: object | None, batch_size: int
) -> Iterator[list[dict[str, object]]]:
    """Rows with ``cursor_column`` > ``after``, in ascending cursor order, in batches — for
    sources that cannot sort themselves (files, HTTP APIs). The rows are spooled to a temporary
    SQLite file on disk, indexed by the cursor, so memory stays flat whatever their number.
    Rows without a cursor value are left out (they cannot be placed after a saved cursor)."""
    import sqlite3
    import tempfile

    import orjson

    bound = cursor_key(after) if after is not None else None
    with tempfile.TemporaryDirectory(prefix="dagr-spool-") as folder:
        db = sqlite3.connect(f"{folder}/rows.sqlite")
        try:
            db.execute("CREATE TABLE r (k, seq INTEGER PRIMARY KEY, row BLOB)")
            pending: list[tuple[object, bytes]] = []
            for row in rows:
                key = cursor_key(row.get(cursor_column))
                if key is None or (bound is not None and not _greater(key, bound)):
                    continue
                pending.append((key, orjson.dumps(row, default=str)))
                if len(pending) >= 10_000:
                    db.executemany("INSERT INTO r (k, row) VALUES (?, ?)", pending)
                    pending.clear()
            db.executemany("INSERT INTO r (k, row) VALUES (?, ?)", pending)
            db.execute("CREATE INDEX r_k ON r (k, seq)")
            result = db.execute("SELECT row FROM r ORDER BY k, seq")
            while True:
                chunk = result.fetchmany(batch_size)
                if not chunk:
                    break
                yield [orjson.loads(blob) for (blob,) in chunk]
        finally:
            db.close()


def _greater(key: object, bound: object) -> bool:
    try:
        return bool(key > bound)  # type: ignore[operator]  # any comparable pair
    except TypeError:
        return str(key) > str(bound)


def batched(
    rows: Iterable[dict[str, object]], batch_size: int
) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def source_open(kind: str, options: Mapping[str, object], secrets: Mapping[str, str]) -> Source:
    """Open a source of ``kind`` with its (non-secret) ``options`` and its ``secrets``
    (passwords, tokens, keys: kept apart so they are never shown or logged)."""
    if kind == "sql":
        from .sql import SqlSource

        return SqlSource(options, secrets)
    if kind == "file":
        from .file import FileSource

        return FileSource(options, secrets)
    if kind == "http":
        from .http import HttpSource

        return HttpSource(options, secrets)
    raise SourceError(f"unknown source kind {kind!r} (one of: {', '.join(KINDS)})")
