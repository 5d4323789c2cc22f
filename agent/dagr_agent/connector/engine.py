"""The connector engine: read a source, map, check, and hand load units to a sink.

No Django and no DAGR server app: the same engine runs hosted (the server's sink calls the
loading service) and at the provider's site (the remote runner's sink posts to DAGR).

Entry points::

    engine.run(config, source, sink, state, log, *, secrets=(), confirm_deletions=None,
               deadline=None) -> RunResult
    engine.dry_run(config, source, validate=None, limit=20, secrets=()) -> DryRun

The unit of commit (``LoadUnit``): the engine cuts the source's rows into units of about
``config.commit_rows`` rows and gives each to ``sink.load(unit)``. The sink must, in ONE
transaction, load ``unit.records`` (a stream, consumed once), delete ``unit.deleted_keys()``
(known after the stream is consumed) and save ``unit.new_state()`` — so the saved cursor moves
exactly when the records it covers are committed. A crash inside a unit commits nothing, and the
next run reads again after the last committed cursor: nothing is skipped, and nothing is loaded
twice (loads are idempotent by content as well).

Incremental runs read ``cursor > saved cursor`` in cursor order; a unit ends only where the
cursor value changes, so rows sharing one cursor value are never split across two commits (a
split would skip the rest of them on resume, the classic ``>`` vs ``>=`` bug). A row whose
cursor goes backwards stops the run (the source is not ordered by its change column). The
configured ``cursor.start`` is used only when no state is saved, and the log says which one
applies (Singer/Meltano's ``start_date`` vs state confusion).

Full runs are one unit in ``snapshot`` mode: the sink's loading service deletes the live
records the source no longer holds, under its snapshot-safety rule (``confirm_deletions``).
Deleted-flag rows are deleted by key (incremental) or left out of the snapshot (full).

Memory: one source batch and one unit's deleted keys at a time; nothing else grows with the
number of rows (Airbyte's memory complaint).

Secrets: every text the engine writes to the log (messages, source rows, exception texts) goes
through ``mask``, which replaces each secret value with ``***`` (dlt's secrets-in-traces bug).
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

from .config import ConnectorConfig
from .drift import ColumnLike, Drift, DriftFailed, drift_apply, drift_detect
from .mapping import MappingError, json_value, record_map, row_shown

Row = Mapping[str, Any]
Validate = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, list[Any]]]
MAX_ERROR_LINES = 1000
_TRUE = frozenset({"1", "true", "t", "y", "yes", "jā", "ja"})


class SourceLike(Protocol):
    """What the engine needs of a source (``dagr_agent.connector.sources.base.Source``)."""

    def columns(self) -> list[Any]: ...

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]: ...

    def close(self) -> None: ...


class Log(Protocol):
    """Where the engine reports: log lines (``level`` debug|info|warning|error, an optional
    source ``row`` for per-record errors) and progress (rows read, records so far).

    Each line the engine writes also has a ``code`` and its ``params`` (``LOG_CODES``): the
    portal renders the line from them in its reader's language (Latvian first, English second);
    ``message`` is the English text, for the agent's own output and for codes a reader does not
    know."""

    def line(
        self,
        level: str,
        message: str,
        row: Mapping[str, Any] | None = None,
        *,
        code: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None: ...

    def progress(self, rows_read: int, counts: Mapping[str, int]) -> None: ...


class Sink(Protocol):
    """Where mapped records go. ``load`` commits the unit's records, its deletions and its
    ``new_state()`` in one transaction and returns the counts of that load
    (``created``/``updated``/``unchanged``/``deleted``). ``validator`` is the dataset's record
    validator when the sink has one (hosted), else ``None`` (then the server validates); with a
    validator, ``unit.records`` are the records it returned (normalised), not the mapped ones."""

    def validator(self) -> Validate | None: ...

    def load(self, unit: LoadUnit) -> Mapping[str, int]: ...


class RunFailed(Exception):
    """The run stopped; the message is safe to show (secrets masked). ``params`` fill the text
    of ``failed.<code>`` in ``LOG_CODES`` when it has one."""

    def __init__(
        self, message: str, code: str = "run_failed", params: Mapping[str, Any] | None = None
    ) -> None:
        self.code = code
        self.params = dict(params or {})
        super().__init__(message)


class RunTimeout(RunFailed):
    def __init__(self, message: str, seconds: int = 0) -> None:
        super().__init__(message, code="timeout", params={"seconds": seconds})


class InvalidRecords(RunFailed):
    def __init__(self, message: str, count: int = 0) -> None:
        super().__init__(message, code="invalid_records", params={"count": count})


# The codes of the engine's log lines and their parameters (the portal's texts for them live in
# the server's ``dagr.connectors.logtexts``; a test keeps the two lists equal).
LOG_CODES: dict[str, tuple[str, ...]] = {
    "drift.new": ("column", "found"),
    "drift.missing": ("column",),
    "drift.retyped": ("column", "expected", "found"),
    "proposal": ("fields",),
    "read.saved": ("column", "after"),
    "read.start": ("column", "after"),
    "read.all": (),
    "read.snapshot": (),
    "row.invalid": ("row", "problems"),
    "summary": ("rows", "created", "updated", "unchanged", "deleted", "invalid"),
    "failed": ("error",),
    "failed.timeout": ("seconds",),
    "failed.cursor_order": ("column", "value", "after"),
    "failed.invalid_records": ("count",),
    "failed.schema_drift": ("drift",),
    "lines.dropped": ("count",),
    "remote.start": ("connector", "name"),
}


# --- state and cursor values ----------------------------------------------------------------


def cursor_encode(value: Any) -> dict[str, Any] | None:
    """A cursor value as JSON state (kept typed so it compares right after a restart)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"type": "integer", "value": value}
    value = json_value(value)
    if isinstance(value, int | float):
        return {"type": "number", "value": value}
    return {"type": "string", "value": str(value)}


def cursor_decode(saved: Mapping[str, Any] | None) -> Any:
    if not saved:
        return None
    kind, value = saved.get("type"), saved.get("value")
    if kind == "datetime":
        return datetime.fromisoformat(str(value))
    if kind == "date":
        return date.fromisoformat(str(value))
    return value


def _start_value(config: ConnectorConfig) -> Any:
    start = config.cursor.start if config.cursor else None
    if isinstance(start, str) and config.cursor and config.cursor.type == "timestamp":
        try:
            return datetime.fromisoformat(start)
        except ValueError:
            return start
    return start


# --- masking ---------------------------------------------------------------------------------


def masker(secrets: Iterable[str]) -> Callable[[Any], Any]:
    """``mask(value)``: texts (also inside dicts and lists) with every secret replaced."""
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= 3:  # also as it appears in a URL (quoted)
            forms |= {secret, quote(secret, safe=""), quote_plus(secret)}
    values = sorted(forms, key=len, reverse=True)

    def mask(value: Any) -> Any:
        if not values:
            return value
        if isinstance(value, str):
            for secret in values:
                if secret in value:
                    value = value.replace(secret, "***")
            return value
        if isinstance(value, Mapping):
            return {mask(str(k)): mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mask(v) for v in value]
        return value

    return mask


class _MaskedLog:
    def __init__(self, log: Log, mask: Callable[[Any], Any]) -> None:
        self.log = log
        self.mask = mask

    def line(
        self,
        level: str,
        message: str,
        row: Mapping[str, Any] | None = None,
        *,
        code: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.log.line(
            level,
            self.mask(message),
            None if row is None else self.mask(row_shown(row)),
            code=code,
            params=self.mask({k: json_value(v) for k, v in (params or {}).items()}),
        )

    def progress(self, rows_read: int, counts: Mapping[str, int]) -> None:
        self.log.progress(rows_read, counts)


# --- load units ------------------------------------------------------------------------------


class LoadUnit:
    """One commit: ``records`` (mapped, stream consumed once by the sink), then
    ``deleted_keys()`` and ``new_state()``, which are final only once ``records`` is exhausted.
    ``mode`` is ``upsert`` or ``snapshot``; ``confirm_deletions`` passes the snapshot-safety
    confirmation through. ``number`` counts units from 1 within the run."""

    def __init__(
        self,
        *,
        number: int,
        mode: str,
        records: Iterator[dict[str, Any]],
        finished: Callable[[], bool],
        deleted: set[str],
        state: Callable[[], dict[str, Any]],
        confirm_deletions: int | None,
    ) -> None:
        self.number = number
        self.mode = mode
        self.records = records
        self._finished = finished
        self._deleted = deleted
        self._state = state
        self.confirm_deletions = confirm_deletions

    def _check(self) -> None:
        if not self._finished():
            raise RuntimeError("the unit's records were not consumed to the end")

    def deleted_keys(self) -> list[str]:
        self._check()
        return sorted(self._deleted)

    def new_state(self) -> dict[str, Any]:
        self._check()
        return self._state()


@dataclass
class RunResult:
    status: str = "succeeded"  # succeeded | failed
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0
    units: int = 0
    mode: str = "upsert"
    state: dict[str, Any] = field(default_factory=dict)
    drift: list[dict[str, Any]] = field(default_factory=list)
    proposal: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    error_code: str = ""

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "invalid": self.invalid,
        }


class _UnitFull(Exception):
    """The current unit is full (its last cursor value is complete): cut here."""


class _Rows:
    """The source's rows one at a time, with one row of look-ahead."""

    def __init__(self, batches: Iterator[list[dict[str, object]]]) -> None:
        self._batches = batches
        self._batch: list[dict[str, object]] = []
        self._i = 0
        self.read = 0

    def current(self) -> tuple[list[dict[str, object]] | None, int]:
        """The batch holding the next row and that row's index (``None`` at the end, with the
        index where the last batch ended: ``advance`` keeps it)."""
        while self._i >= len(self._batch):
            nxt = next(self._batches, None)
            if nxt is None:
                return None, self._i
            self._batch, self._i = nxt, 0
        return self._batch, self._i

    def advance(self, i: int, read: int) -> None:
        """The rows before index ``i`` of the current batch were taken (``read`` so far)."""
        self._i = i
        self.read = read

    def peek(self) -> dict[str, object] | None:
        batch, i = self.current()
        return None if batch is None else batch[i]


def _flag_set(value: Any, flag_value: Any) -> bool:
    if value is None:
        return False
    if isinstance(flag_value, bool):
        if isinstance(value, str):
            return (value.strip().lower() in _TRUE) == flag_value
        return bool(value) == flag_value
    return str(json_value(value)) == str(flag_value)


def run(
    config: ConnectorConfig,
    source: SourceLike,
    sink: Sink,
    state: Mapping[str, Any] | None,
    log: Log,
    *,
    secrets: Iterable[str] = (),
    confirm_deletions: int | None = None,
    deadline: float | None = None,
    force_snapshot: bool = False,
) -> RunResult:
    """Run the connector once; never raises for source, mapping, drift or load problems — the
    result says ``failed`` with a masked ``error`` (and the log has the details). ``state`` is the
    last committed state (``{"cursor": …, "runs": n}``); ``deadline`` a ``time.monotonic()``
    value after which the run stops between batches (``timeout``)."""
    mask = masker(secrets)
    out = _MaskedLog(log, mask)
    result = RunResult()
    state = dict(state or {})
    code, params = "failed", {}
    try:
        _run(config, source, sink, state, out, result, confirm_deletions, deadline, force_snapshot)
    except RunFailed as failed:
        result.status, result.error, result.error_code = "failed", mask(str(failed)), failed.code
        if f"failed.{failed.code}" in LOG_CODES:
            code, params = f"failed.{failed.code}", failed.params
    except DriftFailed as failed:
        result.status, result.error_code = "failed", "schema_drift"
        result.error = mask(str(failed))
        code, params = "failed.schema_drift", {"drift": _drift_text(failed.drift)}
    except Exception as exc:
        result.status, result.error_code = "failed", "error"
        result.error = mask(f"{type(exc).__name__}: {exc}")
    if result.status == "failed":
        if code == "failed":
            params = {"error": result.error}
        out.line("error", result.error, code=code, params=params)
    return result


def _run(
    config: ConnectorConfig,
    source: SourceLike,
    sink: Sink,
    state: dict[str, Any],
    log: _MaskedLog,
    result: RunResult,
    confirm_deletions: int | None,
    deadline: float | None,
    force_snapshot: bool,
) -> None:
    columns: list[ColumnLike] = list(source.columns())
    drift: list[Drift] = drift_detect(config, columns)
    result.drift = [d.as_dict() for d in drift]
    for d in drift:
        log.line(
            "warning",
            "Schema drift: " + d.describe(),
            code=f"drift.{d.kind}",
            params={"column": d.column, "expected": d.expected or "", "found": d.found or ""},
        )
    result.proposal = drift_apply(config, drift)
    if result.proposal:
        names = ", ".join(p["name"] for p in result.proposal)
        log.line(
            "warning", "Proposed schema change: " + names, code="proposal", params={"fields": names}
        )

    runs = int(state.get("runs", 0))
    snapshot = (
        config.mode == "full"
        or force_snapshot
        or (config.deletion.snapshot_every > 0 and (runs + 1) % config.deletion.snapshot_every == 0)
    )
    result.mode = "snapshot" if snapshot else "upsert"
    cursor_col = config.cursor.column if config.cursor else None
    after: Any = None
    if not snapshot and cursor_col:
        saved = cursor_decode(state.get("cursor"))
        if saved is not None:
            after = saved
            log.line(
                "info",
                f"Reading rows with {cursor_col} after {after} (saved state)",
                code="read.saved",
                params={"column": cursor_col, "after": after},
            )
        else:
            after = _start_value(config)
            if after is not None:
                log.line(
                    "info",
                    f"No saved state: reading rows with {cursor_col} after {after} "
                    "(configured start)",
                    code="read.start",
                    params={"column": cursor_col, "after": after},
                )
            else:
                log.line("info", "No saved state: reading every row", code="read.all")
    else:
        log.line("info", "Full snapshot: reading every row", code="read.snapshot")

    map_row = record_map(config)
    validate = sink.validator()
    rows = _Rows(
        source.read(
            cursor_column=None if snapshot else cursor_col,
            after=None if snapshot else after,
            batch_size=config.batch_size,
        )
    )
    key = config.key
    key_column = _key_column(config)
    flag_col, flag_value = config.deletion.flag_column, config.deletion.flag_value
    max_cursor = after
    error_lines = 0

    def state_now() -> dict[str, Any]:
        new = dict(state)
        if cursor_col:
            new["cursor"] = (
                cursor_encode(max_cursor) if max_cursor is not None else state.get("cursor")
            )
        new["runs"] = runs + 1
        return new

    def check_deadline() -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise RunTimeout(
                f"The run took longer than its timeout of {config.timeout_s} s.",
                seconds=config.timeout_s,
            )

    number = 0
    while True:
        check_deadline()
        if not snapshot and rows.peek() is None:
            break
        number += 1
        deleted: set[str] = set()
        done = [False]
        invalid_in_unit = [0]

        def records(
            deleted: set[str] = deleted, done: list[bool] = done, bad: list[int] = invalid_in_unit
        ) -> Iterator[dict[str, Any]]:
            # The hot loop of a run (once per source row): locals only, the batch indexed
            # directly, the sink's validator called once per row: its normalised record is what
            # the sink gets (the hosted sink tells the loading service so, which then does not
            # validate the records a second time with the same compiled schema).
            nonlocal max_cursor, error_lines
            in_unit = 0
            last: Any = None
            limit = config.commit_rows
            cut = bool(cursor_col) and not snapshot
            ordered = cut
            batch, i = rows.current()
            read = rows.read
            try:
                while batch is not None:
                    size = len(batch)
                    while i < size:
                        row = batch[i]
                        if cut:
                            value = row.get(cursor_col)  # type: ignore[arg-type]
                            if in_unit >= limit and value != last:
                                raise _UnitFull
                        i += 1
                        read += 1
                        in_unit += 1
                        if cursor_col:
                            value = row.get(cursor_col)
                            if value is not None:
                                if max_cursor is not None:
                                    if ordered and value < max_cursor:
                                        raise RunFailed(
                                            f"The source returned {cursor_col}={value} after "
                                            f"{max_cursor}: it is not ordered by its change "
                                            "column.",
                                            code="cursor_order",
                                            params={
                                                "column": cursor_col,
                                                "value": json_value(value),
                                                "after": json_value(max_cursor),
                                            },
                                        )
                                    if value > max_cursor:
                                        max_cursor = value
                                else:
                                    max_cursor = value
                                last = value
                        if flag_col and _flag_set(row.get(flag_col), flag_value):
                            raw_key = row.get(key_column) if key_column else None
                            if raw_key is not None and not snapshot:
                                deleted.add(str(json_value(raw_key)))
                            continue
                        record, errors = map_row(row)
                        out = record
                        problems: list[Any] = []
                        if errors:
                            problems = [p.as_dict() for p in errors]
                        elif validate is not None:
                            normalised, found = validate(record)
                            if normalised is None:
                                problems = [_as_dict(p) for p in found]
                            else:
                                out = normalised
                        if problems:
                            bad[0] += 1
                            result.invalid += 1
                            if error_lines < MAX_ERROR_LINES:
                                error_lines += 1
                                text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
                                log.line(
                                    "error",
                                    f"Row {read} is not valid: {text}",
                                    row,
                                    code="row.invalid",
                                    params={"row": read, "problems": text},
                                )
                            continue
                        if deleted:
                            found_key = record.get(key)
                            if found_key is not None:
                                deleted.discard(str(found_key))  # a later row brings it back
                        yield out
                    rows.advance(i, read)
                    check_deadline()
                    batch, i = rows.current()
                    read = rows.read
            except _UnitFull:
                pass  # cut only where the cursor value changes
            finally:
                rows.advance(i, read)
            done[0] = True
            if bad[0] and config.invalid == "fail":
                raise InvalidRecords(
                    f"{bad[0]} rows are not valid; nothing of this unit was loaded "
                    "(see the errors above).",
                    count=bad[0],
                )

        unit = LoadUnit(
            number=number,
            mode="snapshot" if snapshot else "upsert",
            records=records(),
            finished=functools.partial(operator.itemgetter(0), done),
            deleted=deleted,
            state=state_now,
            confirm_deletions=confirm_deletions if snapshot else None,
        )
        counts = sink.load(unit)
        result.units += 1
        for name in ("created", "updated", "unchanged", "deleted"):
            setattr(result, name, getattr(result, name) + int(counts.get(name, 0)))
        result.rows_read = rows.read
        result.state = unit.new_state()
        log.progress(rows.read, result.counts())
        if snapshot:
            break
    result.rows_read = rows.read
    if not result.state:
        result.state = state_now()  # nothing new: the state stays, the run is counted
    log.line(
        "info",
        f"Read {result.rows_read} rows: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.deleted} deleted, {result.invalid} invalid.",
        code="summary",
        params={
            "rows": result.rows_read,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "deleted": result.deleted,
            "invalid": result.invalid,
        },
    )


def _drift_text(drift: Iterable[Drift]) -> str:
    """Drift as the ``failed.schema_drift`` line lists it (column names, kinds and types)."""
    return "; ".join(
        f"{d.column} ({d.kind}{': ' if d.expected or d.found else ''}"
        f"{d.expected or ''}{' → ' if d.expected and d.found else ''}{d.found or ''})"
        for d in drift
    )


def _key_column(config: ConnectorConfig) -> str | None:
    for fm in config.fields:
        if fm.field == config.key:
            return fm.column
    return None


def _as_dict(problem: Any) -> dict[str, Any]:
    if isinstance(problem, Mapping):
        return dict(problem)
    return problem.as_dict()


# --- dry run ---------------------------------------------------------------------------------


@dataclass
class DryRow:
    number: int
    row: dict[str, Any]
    record: dict[str, Any]
    errors: list[dict[str, Any]]


@dataclass
class DryRun:
    rows: list[DryRow] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    proposal: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def invalid(self) -> int:
        return sum(1 for r in self.rows if r.errors)


def dry_run(
    config: ConnectorConfig,
    source: SourceLike,
    validate: Validate | None = None,
    *,
    limit: int = 20,
    secrets: Iterable[str] = (),
) -> DryRun:
    """The first ``limit`` rows mapped and validated; nothing is loaded and no state moves."""
    mask = masker(secrets)
    out = DryRun()
    try:
        drift = drift_detect(config, source.columns())
        out.drift = [d.as_dict() for d in drift]
        try:
            out.proposal = drift_apply(config, drift)
        except DriftFailed as failed:
            out.error = mask(str(failed))
        map_row = record_map(config)
        number = 0
        for batch in source.read(batch_size=min(limit, config.batch_size)):
            for row in batch:
                number += 1
                record, errors = map_row(row)
                problems = [e.as_dict() for e in errors]
                if not problems and validate is not None:
                    normalised, found = validate(record)
                    if normalised is None:
                        problems = [_as_dict(p) for p in found]
                    else:
                        record = normalised
                out.rows.append(DryRow(number, mask(row_shown(row)), mask(record), mask(problems)))
                if number >= limit:
                    return out
    except Exception as exc:
        out.error = mask(f"{type(exc).__name__}: {exc}")
    return out


__all__ = [
    "LOG_CODES",
    "DryRow",
    "DryRun",
    "InvalidRecords",
    "LoadUnit",
    "Log",
    "MappingError",
    "RunFailed",
    "RunResult",
    "RunTimeout",
    "Sink",
    "SourceLike",
    "cursor_decode",
    "cursor_encode",
    "dry_run",
    "masker",
    "run",
]
