"""Connector sources: ``source_open(kind, options, secrets)``.

Kinds: ``sql`` (SQLAlchemy), ``file`` (CSV/XLSX/JSON/NDJSON from a directory, HTTPS or SFTP),
``http`` (JSON APIs with paging). Each module imports its libraries only when opened.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import COLUMN_TYPES, Column, Source, SourceError

KINDS = ("sql", "file", "http")

__all__ = ["COLUMN_TYPES", "KINDS", "Column", "Source", "SourceError", "source_open"]


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
