"""Published anonymised test data through the real server (granian): the public CSV streamed
whole, the XLSX, the public API paged by ``Link: rel=next`` without a token, and the normal data
API on the test dataset with a sandbox grant. The release is built by ``dagr testdata build`` in
``setup_server.py`` before the server starts."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e import data

pytestmark = pytest.mark.e2e

COLUMNS = [f["name"] for f in data.TEST_DATA_SCHEMA["fields"]]
LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def csv_rows(dagr_server: Any) -> list[dict[str, str]]:
    answer = dagr_server.request("GET", f"/test-data/{data.TEST_DATA}.csv")
    assert answer.status == 200, answer.body[:500]
    assert answer.content_type == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    # streamed by granian: chunked, no length known in advance
    assert answer.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in answer.headers
    text = answer.body.decode("utf-8")
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


def test_the_public_csv_streams_every_record_formula_safe(dagr_server):
    rows = csv_rows(dagr_server)
    assert len(rows) == data.TEST_DATA_PERSONS
    originals = data.test_data_persons()
    codes = [r["personal_code"] for r in rows]
    assert len(set(codes)) == len(codes)
    assert not set(codes) & {p["personal_code"] for p in originals}  # none of the real codes
    assert all(code.startswith("32") and len(code) == 11 for code in codes)
    # the notes are not personal: kept, and formulas neutralised with a leading apostrophe
    formulas = sum(1 for p in originals if p["note"].startswith(("=", "@", "+", "-")))
    assert sum(1 for r in rows if r["note"].startswith("'")) == formulas > 0
    assert not any(cell.startswith(("=", "@", "+", "-")) for r in rows for cell in r.values())
    assert sorted(r["note"].lstrip("'") for r in rows) == sorted(p["note"] for p in originals)


def test_the_xlsx_opens_with_every_record(dagr_server):
    answer = dagr_server.request("GET", f"/test-data/{data.TEST_DATA}.xlsx")
    assert answer.status == 200, answer.body[:500]
    book = load_workbook(io.BytesIO(answer.body), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert len(rows) == data.TEST_DATA_PERSONS + 1
    codes = {row[0] for row in rows[1:]}
    assert codes == {r["personal_code"] for r in csv_rows(dagr_server)}


def test_the_public_api_pages_through_every_record_without_a_token(dagr_server):
    listed = dagr_server.request("GET", "/api/v1/test-data/")
    assert listed.status == 200, listed.body
    item = next(i for i in listed.json() if i["code"] == data.TEST_DATA)
    assert (item["test_dataset_code"], item["records"]) == (
        data.TEST_DATA_TARGET,
        data.TEST_DATA_PERSONS,
    )
    detail = dagr_server.request("GET", f"/api/v1/test-data/{data.TEST_DATA}").json()
    report = detail["privacy_report"]
    assert report["passed"] is True and report["k"] >= report["k_required"] == 5
    assert report["leak_proof"]["leaks"] == 0

    path = f"{dagr_server.base_url}/api/v1/test-data/{data.TEST_DATA}/records?limit=1000"
    records: list[dict[str, Any]] = []
    pages = 0
    while path:
        answer = dagr_server.request("GET", path.removeprefix(dagr_server.base_url))
        assert answer.status == 200, answer.body
        page = answer.json()
        records += page["records"]
        pages += 1
        found = LINK_NEXT.search(answer.headers.get("Link", ""))
        assert bool(found) == bool(page["next_cursor"])
        path = found.group(1) if found else ""
        assert pages <= 10
    assert pages == 3  # 1,000 + 1,000 + 600
    by_code = {r["personal_code"]: r for r in records}
    assert len(by_code) == len(records) == data.TEST_DATA_PERSONS
    rows = csv_rows(dagr_server)
    assert set(by_code) == {r["personal_code"] for r in rows}
    row = rows[123]
    assert by_code[row["personal_code"]]["birth_date"] == row["birth_date"]


def test_a_sandbox_grant_on_the_test_dataset_works_through_the_data_api(dagr_server):
    row = csv_rows(dagr_server)[42]
    path = f"/api/v1/data/{data.TEST_DATA_TARGET}/records/personal_code/{row['personal_code']}"
    grant = {"X-Permission-Number": data.TEST_DATA_GRANT}
    found = dagr_server.request("GET", path, token="recipient", headers=grant)
    assert found.status == 200, found.body
    [record] = found.json()["records"]
    assert record["personal_code"] == row["personal_code"]
    assert (record["last_name"], record["birth_date"]) == (row["last_name"], row["birth_date"])
    assert record["note"] == row["note"].removeprefix("'")

    without_grant = dagr_server.request("GET", path, token="recipient")
    assert without_grant.status in (400, 403), without_grant.body
    assert dagr_server.request("GET", path).status == 401  # the data API needs a token
    # the source dataset itself is not open through the test data grant
    source = f"/api/v1/data/{data.TEST_DATA}/records/personal_code/{row['personal_code']}"
    assert dagr_server.request("GET", source, token="recipient", headers=grant).status in (
        400,
        403,
        404,
    )
