import csv
import io

from openpyxl import load_workbook

from dagr.core.tabular import csv_stream, ndjson_stream, xlsx_bytes

RECORDS = [
    {"name": '=HYPERLINK("http://evil")', "n": -5, "note": "+1", "tags": [{"a": 1}]},
    {"name": "Jānis", "n": 3, "note": "@sum", "tags": None},
]
COLUMNS = ["name", "n", "note", "tags"]


def test_csv_is_safe_against_formula_injection_and_keeps_numbers():
    text = "".join(csv_stream(COLUMNS, RECORDS))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == COLUMNS
    assert rows[1][0].startswith("'=") and rows[1][1] == "-5" and rows[1][2] == "'+1"
    assert rows[1][3] == '[{"a":1}]'
    assert rows[2] == ["Jānis", "3", "'@sum", ""]


def test_xlsx_cells_are_typed_and_safe():
    workbook = load_workbook(io.BytesIO(xlsx_bytes(COLUMNS, RECORDS)))
    values = list(workbook.active.iter_rows(values_only=True))
    assert values[0] == tuple(COLUMNS)
    assert values[1][0].startswith("'=") and values[1][1] == -5
    assert values[2][0] == "Jānis"


def test_ndjson_lines():
    lines = b"".join(ndjson_stream(RECORDS)).splitlines()
    assert len(lines) == 2 and lines[1].startswith(b'{"name":"J')
