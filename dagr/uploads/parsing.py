"""Reading uploaded data files (CSV, XLSX, JSON, NDJSON): the agent's one parser
(``dagr_agent.parsing``, shared with the connectors' file sources), its errors shown translated.

``read_rows`` and ``detect_encoding`` raise ``FileError`` (a domain ``ValidationError``, so the
API answers problem+json and the portal a clear message) whose text is the parser's English
text translated; ``MESSAGES`` holds those texts for the catalogue (``makemessages`` reads them
here), and tests/uploads checks that it names every text the parser can raise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dagr.core.errors import ValidationError
from dagr_agent import parsing as agent_parsing
from dagr_agent.parsing import (
    DELIMITERS,
    ENCODINGS,
    FORMATS,
    SNIFF_BYTES,
    CsvDialect,
    Row,
    detect_format,
    sniff_delimiter,
)

__all__ = [
    "DELIMITERS",
    "ENCODINGS",
    "FORMATS",
    "SNIFF_BYTES",
    "CsvDialect",
    "FileError",
    "Row",
    "detect_encoding",
    "detect_format",
    "read_rows",
    "sniff_delimiter",
]

# The parser's texts (English msgids), here for the translation catalogue of this app.
MESSAGES = (
    gettext_noop("Unsupported encoding %(enc)s."),
    gettext_noop("The file is empty."),
    gettext_noop("Unsupported file format %(fmt)s."),
    gettext_noop("Row %(row)s, column %(col)s: a list must be written as JSON text."),
    gettext_noop("Unsupported delimiter."),
    gettext_noop("The first row must name the columns."),
    gettext_noop("Column names repeat in the header."),
    gettext_noop("Row %(row)s has %(got)s columns, the header has %(want)s."),
    gettext_noop("The file is not valid %(enc)s text. Choose the right encoding."),
    gettext_noop("The CSV file is malformed: %(err)s"),
    gettext_noop("This is not a valid XLSX file."),
    gettext_noop("The XLSX file is compressed suspiciously well and was refused."),
    gettext_noop("The XLSX file is too large when unpacked."),
    gettext_noop("The XLSX file cannot be read: %(err)s"),
    gettext_noop("JSON files larger than %(mb)s MB must be sent as NDJSON (one record per line)."),
    gettext_noop("The JSON is malformed: %(err)s"),
    gettext_noop("A JSON file must hold an array of records."),
    gettext_noop("Line %(row)s is not valid JSON: %(err)s"),
)


class FileError(ValidationError):
    code = "file_invalid"


def _translated(exc: agent_parsing.FileError) -> FileError:
    text = _(exc.message)
    return FileError(text % exc.params if exc.params else text, code=exc.code)


def detect_encoding(head: bytes, requested: str = "auto") -> str:
    try:
        return agent_parsing.detect_encoding(head, requested)
    except agent_parsing.FileError as exc:
        raise _translated(exc) from None


def read_rows(
    stream: IO[bytes],
    *,
    filename: str,
    fmt: str = "auto",
    encoding: str = "auto",
    delimiter: str = "auto",
    list_fields: frozenset[str] = frozenset(),
) -> Iterator[Row]:
    """Yield ``(row number, record)``; row numbers are 1-based data rows (after the header)."""
    rows = agent_parsing.read_rows(
        stream,
        filename=filename,
        fmt=fmt,
        encoding=encoding,
        delimiter=delimiter,
        list_fields=list_fields,
    )
    try:
        yield from rows
    except agent_parsing.FileError as exc:
        raise _translated(exc) from None
