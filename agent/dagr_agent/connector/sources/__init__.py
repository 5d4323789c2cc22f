"""Connector sources: ``source_open(kind, options, secrets)`` (defined in ``base``).

Kinds: ``sql`` (SQLAlchemy), ``file`` (CSV/XLSX/JSON/NDJSON from a directory, HTTPS or SFTP),
``http`` (JSON APIs with paging). Each module imports its libraries only when opened.
"""

from __future__ import annotations

from .base import COLUMN_TYPES, KINDS, Column, Source, SourceError, source_open

__all__ = ["COLUMN_TYPES", "KINDS", "Column", "Source", "SourceError", "source_open"]
