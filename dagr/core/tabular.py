"""Writing records as CSV, XLSX and NDJSON downloads, safely and as a stream.

- CSV cells are protected against formula injection (OWASP "CSV Injection"): a text value that
  starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with ``'`` so a
  spreadsheet shows it as text instead of running it. Numbers are written as numbers.
- Nested lists are written as JSON text in one cell (the same form file uploads accept).
- CSV is UTF-8 with a BOM (spreadsheets then pick the right encoding), ``;``-free standard
  comma-separated with CRLF line ends.
- XLSX is written by openpyxl in write-only mode (constant memory); XLSX cells are typed, and
  text cells get the same formula protection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(DANGEROUS_PREFIXES) else value


def cell(value: Any) -> Any:
    """A record value as a spreadsheet cell: lists/dicts as JSON text, text made safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | dict):
        return safe_text(orjson.dumps(value).decode())
    return safe_text(str(value))


def csv_stream(columns: Sequence[str], records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield CSV text chunks (header first), one chunk per ~500 records."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    writer.writerow([safe_text(c) for c in columns])
    for n, record in enumerate(records, start=1):
        writer.writerow([cell(record.get(c)) for c in columns])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def ndjson_stream(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    chunk: list[bytes] = []
    for record in records:
        chunk.append(orjson.dumps(record))
        if len(chunk) == 500:
            yield b"\n".join(chunk) + b"\n"
            chunk = []
    if chunk:
        yield b"\n".join(chunk) + b"\n"


def xlsx_bytes(
    columns: Sequence[str], records: Iterable[dict[str, Any]], *, sheet_title: str = "data"
) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "data")
    sheet.append([safe_text(c) for c in columns])
    for record in records:
        sheet.append([cell(record.get(c)) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
