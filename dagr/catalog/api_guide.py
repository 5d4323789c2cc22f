"""The per-dataset API guide on the public dataset page: example requests and answers made from
the dataset's schema and identifiers, with fictitious values — valid Latvian identifiers from
``core.identifiers`` (the generators the demo and the anonymisation use) and Latvian names from
``core.person_names``. Deterministic (values follow the field path), so the page is the same on
every visit and in every process."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from dagr.core.identifiers import make_company_code, make_new_personal_code
from dagr.core.person_names import FIRST_NAMES_FEMALE, LAST_NAMES_FEMALE

from .schema import FieldDef, SchemaDef

BASE_URL = "https://dagr.example.gov.lv"
PERMISSION_NUMBER = "ATL-2026-001"  # fictitious


@dataclass
class IdentifierExample:
    path: str
    kind: str
    value: str


@dataclass
class ExampleCall:
    key: str  # an anchor
    title: Any  # lazy text
    description: Any
    command: str
    answer: str = ""


@dataclass
class ApiGuide:
    identifiers: list[IdentifierExample] = field(default_factory=list)
    calls: list[ExampleCall] = field(default_factory=list)
    record_json: str = ""


def _seed(path: str) -> int:
    return zlib.crc32(path.encode()) % 9_000 + 1_000


def _company_code(seed: int) -> str:
    for serial in range(seed, seed + 20):  # about one serial in eleven has no check digit
        code = make_company_code(serial)
        if code:
            return code
    raise AssertionError("no company code")  # pragma: no cover - 20 serials always hold one


def identifier_example(kind: str, path: str) -> str:
    seed = _seed(path)
    if kind == "personal_code":
        return make_new_personal_code(seed)
    if kind == "company_code":
        return _company_code(seed)
    if kind == "address_code":
        return f"1{seed:08d}"
    return f"AB{seed:07d}"


def _string_example(f: FieldDef, path: str) -> str:
    name = f.name.lower()
    seed = _seed(path)
    if any(hint in name for hint in ("first_name", "vards", "given")):
        return FIRST_NAMES_FEMALE[seed % len(FIRST_NAMES_FEMALE)]
    if any(hint in name for hint in ("last_name", "uzvards", "surname")):
        return LAST_NAMES_FEMALE[seed % len(LAST_NAMES_FEMALE)]
    if "mail" in name or "pasts" in name:
        return "anna.berzina@example.lv"
    if "phone" in name or "talrun" in name or "telefon" in name:
        return "+37120000000"
    if "postcode" in name or "pasta_indeks" in name:
        return "LV-1050"
    if "iban" in name or name == "konts":
        return "LV80BANK0000435195001"
    if "vat" in name or "pvn" in name:
        return "LV" + _company_code(seed)
    if "status" in name or "statuss" in name:
        return "active"
    if "name" in name or "nosaukums" in name:
        return "SIA “Piemērs”"
    return f"{f.title_en or f.name} {seed % 100}"


def example_value(f: FieldDef, path: str) -> Any:
    """A fictitious value of the field's type (an identifier: a valid one of its kind)."""
    if f.identifier:
        return identifier_example(f.identifier, path)
    seed = _seed(path)
    match f.type:
        case "integer":
            return seed % 100
        case "decimal":
            return round(seed / 7, 2)
        case "boolean":
            return seed % 2 == 0
        case "date":
            return f"{1950 + seed % 60}-{1 + seed % 12:02d}-{1 + seed % 28:02d}"
        case "datetime":
            return f"2026-{1 + seed % 12:02d}-{1 + seed % 28:02d}T09:30:00+00:00"
        case "list":
            return [example_record(f.fields or [], prefix=f"{path}.")]
        case _:
            return _string_example(f, path)


def example_record(fields: list[FieldDef], prefix: str = "") -> dict[str, Any]:
    return {f.name: example_value(f, f"{prefix}{f.name}") for f in fields}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def api_guide(*, code: str, schema: SchemaDef, base_url: str = BASE_URL) -> ApiGuide:
    """Example calls of the data API for the dataset ``code`` with ``schema``."""
    record = example_record(schema.fields)
    identifiers = [
        IdentifierExample(path, str(f.identifier), identifier_example(str(f.identifier), path))
        for path, f in schema.field_paths()
        if f.identifier
    ]
    identifiers.sort(key=lambda item: item.path != schema.key)
    # the example record carries the identifier values the calls use
    for item in identifiers:
        if "." not in item.path:
            record[item.path] = item.value
    data = f"{base_url}/api/v1/data/{code}"
    headers = (
        '  -H "Authorization: Bearer $TOKEN" \\\n'
        f'  -H "X-Permission-Number: {PERMISSION_NUMBER}" \\\n'
    )
    calls = [
        ExampleCall(
            "token",
            _("Get an access token"),
            _("With the client id and secret of your technical connection."),
            'curl -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \\\n'
            f"  {base_url}/api/v1/oauth/token",
            _dumps({"access_token": "eyJhbGciOi…", "token_type": "Bearer", "expires_in": 900}),
        )
    ]
    for item in identifiers:
        calls.append(
            ExampleCall(
                f"by-{item.path.replace('.', '-')}",
                _("Records by %(field)s") % {"field": item.path},
                _("Every record with this value; only the fields your grant allows."),
                f"curl \\\n{headers}  {data}/records/{item.path}/{item.value}",
                _dumps({"records": [record]}),
            )
        )
    if identifiers:
        first = identifiers[0]
        calls.append(
            ExampleCall(
                "lookup",
                _("Many identifiers in one call"),
                _("Up to 1,000 values; unknown ones come back in not_found, malformed in invalid."),
                f"curl -X POST \\\n{headers}"
                '  -H "Content-Type: application/json" \\\n'
                f"  -d '{json.dumps({'field': first.path, 'values': [first.value]})}' \\\n"
                f"  {data}/lookup",
                _dumps({"records": [record], "not_found": [], "invalid": []}),
            )
        )
    calls.append(
        ExampleCall(
            "changes",
            _("Changes since your last call"),
            _(
                "Without a cursor the feed starts at the beginning (the initial load); keep "
                "next_cursor for the next call."
            ),
            f'curl \\\n{headers}  "{data}/changes?limit=1000"',
            _dumps(
                {
                    "changes": [
                        {
                            "id": 1,
                            "operation": "created",
                            "key": str(record.get(schema.key, "1")),
                            "at": "2026-01-15T09:30:00Z",
                            "record": record,
                        }
                    ],
                    "next_cursor": "eyJkIjoxLCJjIjoxfQ",
                    "has_more": False,
                }
            ),
        )
    )
    calls.append(
        ExampleCall(
            "export",
            _("Everything your grant allows, as one file"),
            _("CSV (UTF-8 with BOM) or NDJSON, streamed."),
            f'curl \\\n{headers}  -o {code}.csv "{data}/export?format=csv"',
        )
    )
    return ApiGuide(identifiers=identifiers, calls=calls, record_json=_dumps(record))
