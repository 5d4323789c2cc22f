"""File parsing: encodings, delimiters, formats and hostile files."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from dagr.uploads.parsing import FileError, read_rows

ROWS = [
    {"personal_code": "32000000019", "first_name": "Jānis", "last_name": "Bērziņš"},
    {"personal_code": "32000000027", "first_name": "Līga", "last_name": "Ozoliņa"},
]


def csv_bytes(delimiter: str = ",", encoding: str = "utf-8", bom: bool = False) -> bytes:
    lines = [delimiter.join(ROWS[0])] + [delimiter.join(r.values()) for r in ROWS]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def rows(data: bytes, filename: str = "data.csv", **kwargs) -> list[dict]:
    return [record for _n, record in read_rows(io.BytesIO(data), filename=filename, **kwargs)]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("bom", [False, True])
def test_csv_any_common_delimiter_with_or_without_bom(delimiter, bom):
    assert rows(csv_bytes(delimiter, bom=bom)) == ROWS


def test_windows_1257_is_detected_and_can_be_chosen():
    data = csv_bytes(";", encoding="windows-1257")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert rows(data) == ROWS
    assert rows(data, encoding="windows-1257") == ROWS
    with pytest.raises(FileError) as wrong:
        rows(data, encoding="utf-8")
    assert wrong.value.code == "file_bad_encoding"


def test_ragged_rows_and_missing_header_are_clear_errors():
    with pytest.raises(FileError) as ragged:
        rows(b"a,b\n1,2\n3\n")
    assert ragged.value.code == "file_ragged_row" and "2" in str(ragged.value.message)
    with pytest.raises(FileError) as empty:
        rows(b"")
    assert empty.value.code == "file_empty"


def test_list_fields_are_json_cells():
    data = b'code,board_members\n1,"[{""personal_code"": ""32000000019""}]"\n'
    [record] = rows(data, list_fields=frozenset({"board_members"}))
    assert record["board_members"] == [{"personal_code": "32000000019"}]
    with pytest.raises(FileError) as bad:
        rows(b"code,board_members\n1,not-json\n", list_fields=frozenset({"board_members"}))
    assert bad.value.code == "file_bad_list_cell"


def test_json_and_ndjson():
    import orjson

    assert rows(orjson.dumps(ROWS), filename="x.json") == ROWS
    ndjson = b"\n".join(orjson.dumps(r) for r in ROWS)
    assert rows(ndjson, filename="x.ndjson") == ROWS
    with pytest.raises(FileError) as bad:
        rows(b'{"a": 1}\n{oops\n', filename="x.ndjson")
    assert bad.value.code == "file_bad_json"


def test_xlsx_round_trip_with_dates():
    from datetime import date

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["personal_code", "birth_date", "children"])
    sheet.append(["32000000019", date(1990, 5, 17), 2])
    buffer = io.BytesIO()
    workbook.save(buffer)
    [record] = rows(buffer.getvalue(), filename="x.xlsx")
    assert record == {"personal_code": "32000000019", "birth_date": "1990-05-17", "children": 2}


def test_broken_xlsx_and_zip_bomb_are_refused():
    with pytest.raises(FileError) as broken:
        rows(b"PK\x03\x04garbage", filename="x.xlsx")
    assert broken.value.code == "file_bad_xlsx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(FileError) as bomb:
        rows(buffer.getvalue(), filename="x.xlsx")
    assert bomb.value.code == "file_zip_bomb"


def test_every_parser_text_is_in_the_catalogue_list() -> None:
    """The agent's parser raises English texts; uploads translates them through MESSAGES."""
    import ast
    from pathlib import Path

    import dagr_agent.parsing
    from dagr.uploads.parsing import MESSAGES

    tree = ast.parse(Path(dagr_agent.parsing.__file__).read_text())
    raised = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "FileError"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(raised) >= 15
    assert raised <= set(MESSAGES), raised - set(MESSAGES)


def test_errors_are_translated_with_the_stable_code() -> None:
    from django.utils import translation

    with translation.override("lv"), pytest.raises(FileError) as caught:
        list(read_rows(io.BytesIO(b""), filename="x.csv"))
    assert caught.value.code == "file_empty"
    assert str(caught.value.message) != "The file is empty."  # the Latvian text
