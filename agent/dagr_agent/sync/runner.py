"""Following the feeds: once (until every dataset's feed says ``has_more: false``) or
continuously (a round every ``interval_seconds`` until SIGTERM/SIGINT).

Pipelining: a fetcher thread reads page N+1 over HTTP (and parses it) while the main thread
applies page N to the target; the main thread is the only one that writes, so a stop request
lets the current page's transaction finish and nothing else start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .client import ApiError, Client, SyncError
from .config import DatasetSettings, SyncConfig
from .schema import TableDef, find_permission, table_definition
from .target import Target

log = logging.getLogger("dagr.sync")

PROGRESS_EVERY_S = 2.0
MAX_RELOADS = 3


@dataclass
class DatasetResult:
    code: str
    applied: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds > 0 else 0.0


class Runner:
    def __init__(
        self,
        config: SyncConfig,
        *,
        stop: threading.Event | None = None,
        client: Client | None = None,
        target: Target | None = None,
    ) -> None:
        self.config = config
        self.stop = stop or threading.Event()
        self.client = client or Client(config.dagr, config.dagr.secret(), stop=self.stop)
        self.target = target or Target(config.target.url)

    def close(self) -> None:
        self.target.close()

    # --- definitions ---------------------------------------------------------------------------
    def definition(self, ds: DatasetSettings, permissions: list[dict[str, Any]]) -> TableDef:
        permission = find_permission(permissions, ds.code, ds.permission_number)
        return table_definition(self.client.dataset(ds.code), permission, ds.table_name)

    # --- one round ----------------------------------------------------------------------------
    def run_once(self) -> list[DatasetResult]:
        results: list[DatasetResult] = []
        try:
            permissions = self.client.grants()
        except SyncError as exc:
            log.error("cannot read the grants of this connection: %s", exc)
            return [DatasetResult(ds.code, error=str(exc)) for ds in self.config.datasets]
        for ds in self.config.datasets:
            if self.stop.is_set():
                break
            result = DatasetResult(ds.code)
            started = time.monotonic()
            try:
                self.sync_dataset(ds, permissions, result)
            except (SyncError, sa.exc.SQLAlchemyError) as exc:
                if not self.stop.is_set():
                    result.error = str(exc)
                    log.error("%s: %s", ds.code, exc)
            result.seconds = time.monotonic() - started
            results.append(result)
            if result.error is None:
                log.info(
                    "%s: %s changes applied in %.1f s (%s/s)%s",
                    ds.code, f"{result.applied:,}", result.seconds, f"{result.rate:,.0f}",
                    " — stopped" if self.stop.is_set() else "",
                )  # fmt: skip
        return results

    def run_continuous(self) -> None:
        while not self.stop.is_set():
            self.run_once()
            if self.stop.wait(self.config.interval_seconds):
                break
        log.info("stopped")

    def sync_dataset(
        self, ds: DatasetSettings, permissions: list[dict[str, Any]], result: DatasetResult
    ) -> None:
        tdef = self.definition(ds, permissions)
        cursor = self.target.prepare(tdef)
        for _ in range(MAX_RELOADS):
            try:
                self._follow(ds, tdef, cursor, result)
                return
            except ApiError as exc:
                if exc.status != 409 or exc.code != "cursor_outdated":
                    raise
                log.warning(
                    "%s: the grant's terms changed since the stored cursor (%s): "
                    "reloading table %s from the beginning",
                    ds.code, exc.code, ds.table_name,
                )  # fmt: skip
                tdef = self.definition(ds, self.client.grants())
                self.target.reload(tdef)
                cursor = None
        raise SyncError(f"{ds.code}: the feed kept answering cursor_outdated")

    def _follow(
        self, ds: DatasetSettings, tdef: TableDef, cursor: str | None, result: DatasetResult
    ) -> None:
        pages: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        done = threading.Event()

        def put(item: tuple[str, Any]) -> bool:
            while not done.is_set():
                try:
                    pages.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            position = cursor
            try:
                while not done.is_set():
                    page = self.client.changes(
                        ds.code, ds.permission_number, position, ds.page_size
                    )
                    if not put(("page", page)) or not page["has_more"]:
                        return
                    position = page["next_cursor"]
            except BaseException as exc:  # handed to the applying thread
                put(("error", exc))

        fetcher = threading.Thread(target=fetch, name=f"dagr-sync-fetch-{ds.code}", daemon=True)
        fetcher.start()
        position = cursor
        started = last_report = time.monotonic()
        try:
            while True:
                try:
                    kind, item = pages.get(timeout=0.2)
                except queue.Empty:
                    if self.stop.is_set():  # nothing half-done: stop without waiting for HTTP
                        return
                    continue
                if kind == "error":
                    raise item
                changes = item["changes"]
                if changes or item["next_cursor"] != position:
                    result.applied += self.target.apply(tdef, changes, item["next_cursor"])
                position = item["next_cursor"]
                now = time.monotonic()
                log.debug("%s: page of %d changes applied", ds.code, len(changes))
                if now - last_report >= PROGRESS_EVERY_S:
                    last_report = now
                    log.info(
                        "%s: %s changes applied (%s/s)",
                        ds.code, f"{result.applied:,}",
                        f"{result.applied / max(now - started, 1e-9):,.0f}",
                    )  # fmt: skip
                if not item["has_more"] or self.stop.is_set():
                    return
        finally:
            done.set()
            fetcher.join(timeout=5)
