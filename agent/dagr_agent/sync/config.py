"""The ``sync.yaml`` file: a typed model (pydantic) read from YAML.

::

    dagr:
      url: https://dagr.example.gov.lv
      client_id: rcp_…
      client_secret_env: DAGR_CLIENT_SECRET   # recommended; or client_secret: "…"
    target:
      url: postgresql+psycopg://sync@localhost/registers
    datasets:
      - code: demo-population-register
        permission_number: ATL-2026-001
        table: persons            # default: the code with non [a-z0-9_] characters → _
        page_size: 5000           # changes per feed request (1..10000)
    interval_seconds: 300         # continuous mode: pause between rounds
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

TABLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid (message for a person)."""


class DagrSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    client_secret_env: str | None = None
    token_url: str | None = None
    # sent as X-Purpose (percent-encoded UTF-8), recorded in DAGR's access audit
    purpose: str = Field("", max_length=255)
    timeout_seconds: float = Field(60.0, gt=0)
    # Network errors, 5xx and 429 are retried with exponential backoff for this long.
    retry_for_seconds: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _secret(self) -> DagrSettings:
        if (self.client_secret is None) == (self.client_secret_env is None):
            raise ValueError("give exactly one of dagr.client_secret and dagr.client_secret_env")
        return self

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def resolved_token_url(self) -> str:
        return self.token_url or f"{self.base_url}/api/v1/oauth/token"

    def secret(self) -> str:
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        value = os.environ.get(self.client_secret_env or "", "")
        if not value:
            raise ConfigError(
                f"the environment variable {self.client_secret_env} (dagr.client_secret_env) "
                "is not set"
            )
        return value


class TargetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="SQLAlchemy database URL")


class DatasetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    permission_number: str = Field(min_length=1)
    table: str | None = None
    page_size: int = Field(5000, ge=1, le=10000)

    @model_validator(mode="after")
    def _table(self) -> DatasetSettings:
        if self.table is None:
            self.table = default_table_name(self.code)
        if not TABLE_RE.match(self.table):
            raise ValueError(
                f"table name {self.table!r}: lowercase letters, digits and _ (at most 63)"
            )
        return self

    @property
    def table_name(self) -> str:
        assert self.table is not None
        return self.table


class SyncConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dagr: DagrSettings
    target: TargetSettings
    datasets: list[DatasetSettings] = Field(min_length=1)
    interval_seconds: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _unique(self) -> SyncConfig:
        codes = [d.code for d in self.datasets]
        if len(set(codes)) != len(codes):
            raise ValueError("each dataset may appear only once")
        tables = [d.table_name for d in self.datasets]
        if len(set(tables)) != len(tables) or "dagr_sync_state" in tables:
            raise ValueError("table names must be different (and not dagr_sync_state)")
        return self


def default_table_name(code: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", code.lower())
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "t_" + name
    return name[:63]


def config_parse(data: Any) -> SyncConfig:
    try:
        return SyncConfig.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


def config_load(path: str | Path) -> SyncConfig:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return config_parse(data)
