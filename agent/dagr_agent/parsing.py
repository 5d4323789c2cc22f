"""Reading data files (CSV, XLSX, JSON, NDJSON) into records, as a stream.

The one parser of DAGR's data files: the server's uploads (``dagr.uploads.parsing``, which
shows these errors translated) and the connectors' file sources both read through it.

Each reader yields ``(row_number, record_dict)`` with raw cell values; the loading service
validates and coerces them against the dataset schema (``compile_validator(coerce=True)``).
Nested list fields travel in one cell as JSON text and are decoded here.

Choices:
- CSV with Python's ``csv`` module: it streams, handles quoting and every delimiter, and at
  ~100k rows/s it is not the bottleneck of a load (validation and the database are).
- Encoding: UTF-8 (with or without BOM) unless the bytes are not valid UTF-8, then Windows-1257
  (the Baltic code page Latvian registers export); the user can choose explicitly. Deterministic
  rules a person can understand beat a statistical guess here.
- XLSX with openpyxl in read-only mode (with defusedxml installed it refuses XML attacks); the
  archive is inspected first so a zip bomb is refused before anything is decompressed.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

FORMATS = ("csv", "xlsx", "json", "ndjson")
ENCODINGS = ("auto", "utf-8", "windows-1257")
DELIMITERS = (",", ";", "\t", "|")
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_RATIO = 100
MAX_JSON_BYTES = 64 * 1024 * 1024
SNIFF_BYTES = 64 * 1024

Row = tuple[int, dict[str, Any]]


class FileError(ValueError):
    """A file that cannot be read. ``message`` is the English text with ``%(name)s``
    placeholders (the server translates it: ``dagr.uploads.parsing``), ``params`` fills them,
    ``code`` is stable for programs."""

    def __init__(self, message: str, code: str = "file_invalid", **params: object) -> None:
        self.message = message
        self.code = code
        self.params = params
        super().__init__(message % params if params else message)


@dataclass
class CsvDialect:
    encoding: str
    delimiter: str


def detect_format(filename: str, head: bytes) -> str:
    name = filename.lower()
    if head.startswith(b"PK\x03\x04") or name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if name.endswith(".json"):
        return "json"
    stripped = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "ndjson"
    return "csv"


def detect_encoding(head: bytes, requested: str = "auto") -> str:
    if requested != "auto":
        if requested not in ENCODINGS:
            raise FileError("Unsupported encoding %(enc)s.", enc=requested)
        return "utf-8-sig" if requested == "utf-8" else requested
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a multi-byte character cut at the end is fine
    except UnicodeDecodeError:
        return "windows-1257"
    return "utf-8-sig"


def sniff_delimiter(text_head: str) -> str:
    sample = "\n".join(text_head.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(DELIMITERS, key=first.count) if first else ","


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
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not head:
        raise FileError("The file is empty.", code="file_empty")
    if fmt == "auto":
        fmt = detect_format(filename, head)
    if fmt == "csv":
        yield from _read_csv(stream, head, encoding, delimiter, list_fields)
    elif fmt == "xlsx":
        yield from _read_xlsx(stream, list_fields)
    elif fmt == "json":
        yield from _read_json(stream)
    elif fmt == "ndjson":
        yield from _read_ndjson(stream)
    else:
        raise FileError("Unsupported file format %(fmt)s.", fmt=fmt)


def _decode_lists(record: dict[str, Any], list_fields: frozenset[str], row: int) -> None:
    for name in list_fields & record.keys():
        value = record[name]
        if isinstance(value, str):
            if not value.strip():
                record[name] = None
                continue
            try:
                record[name] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise FileError(
                    "Row %(row)s, column %(col)s: a list must be written as JSON text.",
                    row=row,
                    col=name,
                    code="file_bad_list_cell",
                ) from None


def _read_csv(
    stream: IO[bytes], head: bytes, encoding: str, delimiter: str, list_fields: frozenset[str]
) -> Iterator[Row]:
    enc = detect_encoding(head, encoding)
    text = io.TextIOWrapper(stream, encoding=enc, newline="", errors="strict")
    if delimiter == "auto":
        delimiter = sniff_delimiter(head.decode(enc, errors="ignore"))
    elif delimiter not in DELIMITERS:
        raise FileError("Unsupported delimiter.", code="file_bad_delimiter")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise FileError("The first row must name the columns.", code="file_no_header")
        names = [h.strip() for h in header]
        if len(set(names)) != len(names):
            raise FileError("Column names repeat in the header.", code="file_dup_header")
        for number, cells in enumerate(reader, start=1):
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != len(names):
                raise FileError(
                    "Row %(row)s has %(got)s columns, the header has %(want)s.",
                    row=number,
                    got=len(cells),
                    want=len(names),
                    code="file_ragged_row",
                )
            # empty cells are left out; most rows have none, and "in" scans the list in C
            if "" in cells:
                record = {n: c for n, c in zip(names, cells, strict=True) if c != ""}
            else:
                record = dict(zip(names, cells, strict=True))
            if list_fields:
                _decode_lists(record, list_fields, number)
            yield number, record
    except UnicodeDecodeError:
        raise FileError(
            "The file is not valid %(enc)s text. Choose the right encoding.",
            enc=enc.removesuffix("-sig"),
            code="file_bad_encoding",
        ) from None
    except csv.Error as exc:
        raise FileError(
            "The CSV file is malformed: %(err)s", err=exc, code="file_bad_csv"
        ) from None
    finally:
        text.detach()


def _check_zip(stream: IO[bytes]) -> None:
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise FileError("This is not a valid XLSX file.", code="file_bad_xlsx") from None
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_XLSX_RATIO:
            raise FileError(
                "The XLSX file is compressed suspiciously well and was refused.",
                code="file_zip_bomb",
            )
    if total > MAX_XLSX_UNCOMPRESSED:
        raise FileError("The XLSX file is too large when unpacked.", code="file_zip_bomb")
    stream.seek(0)


def _read_xlsx(stream: IO[bytes], list_fields: frozenset[str]) -> Iterator[Row]:
    from openpyxl import load_workbook

    _check_zip(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken files
        raise FileError(
            "The XLSX file cannot be read: %(err)s",
            err=exc.__class__.__name__,
            code="file_bad_xlsx",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(h is not None and str(h).strip() for h in header):
            raise FileError("The first row must name the columns.", code="file_no_header")
        names = [str(h).strip() if h is not None else "" for h in header]
        for number, cells in enumerate(rows, start=1):
            if cells is None or all(c is None or c == "" for c in cells):
                continue
            record = {
                n: _xlsx_value(c)
                for n, c in zip(names, cells, strict=False)
                if n and c is not None and c != ""
            }
            _decode_lists(record, list_fields, number)
            yield number, record
    finally:
        workbook.close()


def _xlsx_value(value: Any) -> Any:
    from datetime import date, datetime

    if isinstance(value, datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _read_json(stream: IO[bytes]) -> Iterator[Row]:
    data = stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise FileError(
            "JSON files larger than %(mb)s MB must be sent as NDJSON (one record per line).",
            mb=MAX_JSON_BYTES // (1024 * 1024),
            code="file_too_large",
        )
    try:
        parsed = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise FileError("The JSON is malformed: %(err)s", err=exc, code="file_bad_json") from None
    if not isinstance(parsed, list):
        raise FileError("A JSON file must hold an array of records.", code="file_bad_json")
    yield from enumerate(parsed, start=1)


def _read_ndjson(stream: IO[bytes]) -> Iterator[Row]:
    for number, line in enumerate(stream, start=1):
        line = line.strip().removeprefix(b"\xef\xbb\xbf")
        if not line:
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FileError(
                "Line %(row)s is not valid JSON: %(err)s",
                row=number,
                err=exc,
                code="file_bad_json",
            ) from None
