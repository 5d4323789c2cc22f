"""The remote runner: ``dagr connector run --config connector.yaml`` at the provider's site.

The connector's configuration (source, mapping, mode, cursor) is kept in DAGR and edited in the
portal; ``connector.yaml`` says only how to reach DAGR and where the source's secrets are::

    dagr:
      url: https://dagr.example.gov.lv
      client_id: prv_…                    # a provider system of the connector's institution
      client_secret_env: DAGR_CLIENT_SECRET
    connector: 12                         # the connector's number (its portal page shows it)
    secrets_env:                          # the source's secrets, from environment variables
      password: REGISTER_DB_PASSWORD
    allow_internal: true                  # the source may be on a private network (default)

A run: read the configuration and the last committed state from DAGR, claim the run (DAGR
refuses a second run of the same connector at once), run the engine
(``dagr_agent.connector.engine``, the same as hosted runs) with a sink that sends each unit as
NDJSON — ``{"record": …}`` lines, ``{"delete": key}`` lines and, last, ``{"state": …}`` — to
DAGR, which loads the records, deletes and saves the new cursor in one transaction. So the
cursor moves only when DAGR has committed the records it covers: a crash (of either side) or a
lost answer loses nothing and the next run resends from the last committed cursor (loads are
idempotent by content, so nothing is doubled). Log lines and progress are posted while the run
goes (every ``FLUSH_S`` seconds or ``FLUSH_LINES`` lines), so the portal shows the run live
exactly like a hosted one; every line also goes to standard error here. Secrets are masked in
everything sent or printed.

Memory stays flat: a unit's body is written to a temporary file as the source is read (one
batch at a time), then sent with its length — so a unit is sent again whole after a network
error or a 5xx/429 answer (safe: DAGR commits a unit at most once in effect, loads being
idempotent by content and the state line the same), and no proxy needs chunked uploads.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..sync.client import Client, SyncError
from ..sync.config import ConfigError, DagrSettings
from . import engine
from .config import ConfigError as ConnectorConfigError
from .config import config_from_dict
from .sources.base import SourceError, mask, source_open

log = logging.getLogger("dagr.connector")

API = "/api/v1/provider/connectors"
FLUSH_S = 2.0
FLUSH_LINES = 200
CHUNK_BYTES = 1024 * 1024


class RemoteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dagr: DagrSettings
    connector: int = Field(ge=1)
    secrets_env: dict[str, str] = Field(default_factory=dict)
    allow_internal: bool = True

    def secrets(self, needed: list[str]) -> dict[str, str]:
        missing = [n for n in needed if n not in self.secrets_env]
        if missing:
            raise ConfigError(
                f"the connector needs the secrets {', '.join(missing)}: name an environment "
                "variable for each under secrets_env"
            )
        values: dict[str, str] = {}
        for name, variable in self.secrets_env.items():
            value = os.environ.get(variable, "")
            if not value:
                raise ConfigError(
                    f"the environment variable {variable} (secrets_env.{name}) is not set"
                )
            values[name] = value
        return values


def settings_load(path: str | Path) -> RemoteSettings:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    try:
        return RemoteSettings.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


def _json_default(value: Any) -> Any:
    from .mapping import json_value

    converted = json_value(value)
    if converted is value:
        return str(value)
    return converted


class RemoteLog:
    """The engine's log: lines and progress buffered and posted to DAGR, also printed here."""

    def __init__(self, client: Client, path: str, secrets: Mapping[str, str]) -> None:
        self._client = client
        self._path = path
        self._secrets = secrets
        self._lines: list[dict[str, Any]] = []
        self._progress: dict[str, int] | None = None
        self._sent = time.monotonic()

    def line(
        self,
        level: str,
        message: str,
        row: Mapping[str, Any] | None = None,
        *,
        code: str = "",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        message = mask(message, self._secrets)
        log.log(logging.getLevelName(level.upper()), "%s", message)
        entry: dict[str, Any] = {"level": level, "message": message[:4000]}
        if code:  # DAGR renders the line from its code in the portal reader's language
            entry["code"] = code
            entry["params"] = orjson.loads(
                mask(
                    orjson.dumps(dict(params or {}), default=_json_default).decode(), self._secrets
                )
            )
        if row is not None:
            entry["row"] = orjson.loads(
                mask(orjson.dumps(dict(row), default=_json_default).decode(), self._secrets)
            )
        self._lines.append(entry)
        self._maybe_flush()

    def progress(self, rows_read: int, counts: Mapping[str, int]) -> None:
        self._progress = {"rows_read": rows_read, **{k: int(v) for k, v in counts.items()}}
        log.debug("progress: %s", self._progress)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._lines) >= FLUSH_LINES or time.monotonic() - self._sent >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if not self._lines and self._progress is None:
            return
        payload: dict[str, Any] = {"lines": self._lines}
        if self._progress is not None:
            known = ("rows_read", "created", "updated", "unchanged", "deleted", "invalid")
            payload["progress"] = {k: v for k, v in self._progress.items() if k in known}
        self._lines, self._progress = [], None
        self._sent = time.monotonic()
        try:
            self._client.call("POST", f"{self._path}/log", json_body=payload)
        except SyncError as exc:  # the log must not stop the load; the finish call reports
            log.warning("the run log could not be sent: %s", mask(str(exc), self._secrets))


class RemoteSink:
    """Sends each unit to DAGR as one NDJSON body (spooled to a temporary file first); DAGR
    commits records, deletions and the new state together and answers the counts."""

    def __init__(self, client: Client, path: str) -> None:
        self._client = client
        self._path = path

    def validator(self) -> None:
        return None  # DAGR validates against the dataset's schema; invalid records are counted

    def _spool(self, unit: engine.LoadUnit, into: IO[bytes]) -> None:
        buffer = bytearray()
        for record in unit.records:
            buffer += orjson.dumps({"record": record}, default=_json_default)
            buffer += b"\n"
            if len(buffer) >= CHUNK_BYTES:
                into.write(buffer)
                buffer.clear()
        for key in unit.deleted_keys():
            buffer += orjson.dumps({"delete": key}) + b"\n"
        buffer += orjson.dumps({"state": unit.new_state()}, default=_json_default) + b"\n"
        into.write(buffer)
        into.flush()

    def load(self, unit: engine.LoadUnit) -> Mapping[str, int]:
        params: dict[str, Any] = {"mode": unit.mode}
        if unit.confirm_deletions is not None:
            params["confirm_deletions"] = unit.confirm_deletions
        with tempfile.TemporaryFile(prefix="dagr-unit-") as body:
            self._spool(unit, body)
            size = body.tell()
            answer = self._client.call(
                "POST",
                f"{self._path}/units",
                body=body,
                params=params,
                headers={"Content-Type": "application/x-ndjson", "Content-Length": str(size)},
            )
        return {k: int(answer.get(k, 0)) for k in ("created", "updated", "unchanged", "deleted")}


def run_remote(settings: RemoteSettings, client: Client) -> int:
    """One run; the exit status (0 succeeded, 1 failed, 2 configuration error)."""
    base = f"{API}/{settings.connector}"
    try:
        info = client.call("GET", base)
    except SyncError as exc:
        log.error("cannot read connector %s from DAGR: %s", settings.connector, exc)
        return 1
    try:
        secrets = settings.secrets(list(info.get("secret_names") or []))
        config = config_from_dict(info["config"])
    except (ConfigError, ConnectorConfigError) as exc:
        log.error("%s", exc)
        return 2
    try:
        started = client.call("POST", f"{base}/runs", retry=False)
    except SyncError as exc:
        log.error("DAGR did not start the run: %s", exc)
        return 1
    path = f"{base}/runs/{started['run_id']}"
    run_log = RemoteLog(client, path, secrets)
    run_log.line(
        "info",
        f"Remote run of connector {settings.connector} ({info.get('name')})",
        code="remote.start",
        params={"connector": settings.connector, "name": str(info.get("name") or "")},
    )
    result = engine.RunResult(status="failed", error_code="source_error")
    options = {"allow_internal": settings.allow_internal, **dict(config.source_options)}
    try:
        source = source_open(config.source_kind, options, secrets)
    except SourceError as exc:
        result.error = mask(str(exc), secrets)
        run_log.line("error", result.error, code="failed", params={"error": result.error})
    else:
        try:
            result = engine.run(
                config,
                source,
                RemoteSink(client, path),
                started.get("state") or {},
                run_log,
                secrets=[v for v in secrets.values() if v],
                deadline=time.monotonic() + config.timeout_s,
            )
        finally:
            source.close()
    run_log.flush()
    try:
        client.call(
            "POST",
            f"{path}/finish",
            json_body={
                "status": result.status,
                "counts": result.counts(),
                "error": mask(result.error, secrets),
                "error_code": result.error_code,
                "mode": result.mode,
                "drift": result.drift,
                "proposal": result.proposal,
            },
        )
    except SyncError as exc:
        log.error("the run's end could not be reported to DAGR: %s", mask(str(exc), secrets))
        return 1
    counts = ", ".join(f"{k} {v}" for k, v in result.counts().items())
    if result.status == "succeeded":
        log.info("run succeeded: %s", counts)
        return 0
    log.error("run failed (%s): %s", result.error_code, mask(result.error, secrets))
    return 1
