"""Names and records shared by the end-to-end tier's setup script and its tests."""

from __future__ import annotations

import copy
from typing import Any

from dagr.core.identifiers import make_new_personal_code
from tests.factories import PERSON_SCHEMA

PROVIDER_EMAIL = "e2e-provider@example.lv"
RECIPIENT_EMAIL = "e2e-recipient@example.lv"

JSON = "e2e-json"
NDJSON = "e2e-ndjson"
NDJSON_BAD = "e2e-ndjson-bad"
CHUNKED = "e2e-chunked"
BIG = "e2e-big"
CUT = "e2e-cut"
SNAPSHOT = "e2e-snapshot"
EMPTY_SNAPSHOT = "e2e-snapshot-empty"
UPLOAD = "e2e-upload"
LOOKUP = "e2e-lookup"
WATCH = "e2e-watch"
OPEN_DATA = "e2e-open-data"  # described as open data, published to the CKAN stand-in
# the knowledge base's executed examples (tests/e2e/test_help_examples.py): a dataset the
# recipient reads under a grant, and one the provider's examples load into
HELP = "e2e-help"
HELP_LOAD = "e2e-help-load"
HELP_PERSONS = 20
DATASETS = (JSON, NDJSON, NDJSON_BAD, CHUNKED, BIG, CUT, SNAPSHOT, EMPTY_SNAPSHOT, UPLOAD,
            LOOKUP, WATCH, OPEN_DATA, HELP, HELP_LOAD)  # fmt: skip

# dataset code -> permission number of the recipient's approved grant (every field)
GRANTS = {LOOKUP: "E2E-LOOKUP-1", WATCH: "E2E-WATCH-1", CHUNKED: "E2E-CHUNKED-1",
          HELP: "E2E-HELP-1"}  # fmt: skip
LOOKUP_PERSONS = 50
HELP_SERIAL = 950_000

# Latvian letters make multi-byte UTF-8 that odd chunk boundaries split
NAMES = ("Ābele", "Ērgļa", "Ķēniņa", "Šņore", "Žagata", "Ūdre", "Čakste", "Ļaudava", "Ņikitina")


def persons(n: int, *, serial: int = 0) -> list[dict[str, Any]]:
    """``n`` valid records of the test person schema (tests.factories.PERSON_SCHEMA)."""
    return [
        {
            "personal_code": make_new_personal_code(serial + i),
            "last_name": f"{NAMES[i % len(NAMES)]}-{i}",
            "birth_date": f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        }
        for i in range(n)
    ]


# --- anonymised test data (tests/e2e/test_test_data.py) -----------------------------------------
# a source dataset whose release `dagr testdata build` publishes before the server starts; the
# recipient's sandbox grant is on its test dataset (`<code>-test`)
TEST_DATA = "e2e-testdata"
TEST_DATA_TARGET = f"{TEST_DATA}-test"
TEST_DATA_GRANT = "E2E-TESTDATA-1"
# 50 birth years: over 50 persons a year, so the default quasi-identifier (birth year) passes k=5;
# more than one page of the CSV stream (500 records a chunk) and of the API (1,000 a page)
TEST_DATA_PERSONS = 2_600
FORMULAS = ('=HYPERLINK("http://x.lv","a")', "@SUM(1)", "+1", "-2+3")
TEST_DATA_SCHEMA: dict[str, Any] = copy.deepcopy(PERSON_SCHEMA)
TEST_DATA_SCHEMA["fields"].append(
    {"name": "note", "title_lv": "Piezīme", "title_en": "Note", "type": "string"}
)


def test_data_persons(n: int = TEST_DATA_PERSONS) -> list[dict[str, Any]]:
    """The source records: persons and a non-personal note (kept by the default rule), every
    tenth note a spreadsheet formula."""
    return [
        {**person, "note": FORMULAS[(i // 10) % len(FORMULAS)] if i % 10 == 0 else f"Ņ-{i}"}
        for i, person in enumerate(persons(n, serial=700_000))
    ]
