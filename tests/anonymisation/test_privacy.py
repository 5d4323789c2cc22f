"""The leak proof catches what the rules let through, and the report refuses it."""

from __future__ import annotations

import random
from typing import Any

from stdnum import iban

from dagr.anonymisation.engine import (
    DatasetInput,
    PrivacySettings,
    QuasiIdentifier,
    ReleaseSpec,
    build_release,
)
from dagr.anonymisation.rules import Rule, default_rules
from dagr.catalog.schema import parse_schema
from dagr.core import identifiers

KEY = bytes(range(32))


def _field(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title_lv": name, "title_en": name, "type": type_, **extra}


SCHEMA = parse_schema(
    {
        "key": "personal_code",
        "fields": [
            _field("personal_code", required=True, personal=True, identifier="personal_code"),
            _field("first_name", personal=True),
            _field("last_name", personal=True),
            _field("gender", personal=True),
            _field("birth_date", "date", personal=True),
            _field("note"),  # not declared personal: kept by default
        ],
    }
)


def _persons(n: int, note: Any = None) -> list[dict[str, Any]]:
    from datetime import date

    people = []
    for i in range(n):
        born = date(1980 + i % 3, 1 + i % 12, 1 + i % 28)
        code = identifiers.make_old_personal_code(born, i)
        people.append(
            {
                "personal_code": code,
                "first_name": "Jānis" if i % 2 else "Ilze",
                "last_name": "Bērziņš" if i % 2 else "Kalniņa",
                "gender": "male" if i % 2 else "female",
                "birth_date": born.isoformat(),
                "note": note(i, code) if note else "nothing to say",
            }
        )
    return people


def _release(people: list[dict[str, Any]], k: int = 1) -> tuple[list[dict[str, Any]], Any]:
    out: list[dict[str, Any]] = []
    spec = ReleaseSpec(
        key=KEY,
        datasets=(
            DatasetInput(
                "people", SCHEMA, default_rules(SCHEMA), lambda: iter(people), len(people)
            ),
        ),
        privacy=PrivacySettings(
            quasi_identifiers=(
                QuasiIdentifier("people", "birth_date", "year"),
                QuasiIdentifier("people", "gender"),
            ),
            k=k,
        ),
    )
    report = build_release(spec, lambda _code, record: out.append(record))
    return out, report


def test_a_clean_release_passes_with_counts_of_what_was_checked() -> None:
    out, report = _release(_persons(60))
    proof = report.details["leak_proof"]
    assert report.passed and proof["leaks"] == 0
    assert proof["records"] == 60 and proof["original_hashes"] == 60
    assert proof["windows_checked"] == 60 * 6  # six 6-character pieces of each code
    assert report.k == 10  # 3 birth years x 2 genders over 60 persons
    fields = report.details["datasets"]["people"]["fields"]
    assert fields["birth_date"]["category"] == "shifted"
    assert fields["note"]["category"] == "kept"
    assert all(p["note"] == "nothing to say" for p in out)


def test_a_kept_field_holding_another_persons_code_is_a_global_leak() -> None:
    people = _persons(40)
    codes = [p["personal_code"] for p in people]
    # person i's note quotes person i+1's code: the per-record check cannot see it
    people = [p | {"note": f"see {codes[(i + 1) % 40]}"} for i, p in enumerate(people)]
    _out, report = _release(people)
    assert report.details["leak_proof"]["leaks"] == 40
    assert report.passed is False


def test_a_kept_field_holding_a_piece_of_the_own_code_is_a_record_leak() -> None:
    people = _persons(10, note=lambda _i, code: f"born {code[:6]}")
    _out, report = _release(people)
    assert report.details["leak_proof"]["leaks"] == 10
    assert not report.passed


def test_a_kept_field_holding_the_full_name_is_a_leak_but_a_name_alone_is_not() -> None:
    people = _persons(10, note=lambda i, _c: "IK Jānis Bērziņš" if i % 2 else "Kalniņa iela")
    _out, report = _release(people)
    assert report.details["leak_proof"]["leaks"] == 5


def test_suppressed_values_are_counted_and_mask_keeps_no_piece() -> None:
    rules = default_rules(SCHEMA) | {"note": Rule(kind="mask", params={"keep_start": 2})}
    people = _persons(10, note=lambda _i, code: code)
    out: list[dict[str, Any]] = []
    spec = ReleaseSpec(
        key=KEY,
        datasets=(DatasetInput("people", SCHEMA, rules, lambda: iter(people), 10),),
        privacy=PrivacySettings(quasi_identifiers=()),
    )
    report = build_release(spec, lambda _c, r: out.append(r))
    assert report.passed and report.k is None
    assert all(p["note"][2:] == "*" * 9 for p in out)
    assert report.details["datasets"]["people"]["totals"]["suppressed"] == 10


def test_a_kept_field_holding_another_persons_pseudonymised_value_is_a_global_leak() -> None:
    schema = parse_schema(
        {
            "key": "personal_code",
            "fields": [
                _field("personal_code", required=True, personal=True, identifier="personal_code"),
                _field("iban", personal=True),
                _field("note"),
            ],
        }
    )
    rng = random.Random(7)
    people = []
    for i, p in enumerate(_persons(20)):
        body = f"{'HABA' if i % 2 else 'UNLA'}{rng.randrange(10**13):013d}"
        people.append(
            {
                "personal_code": p["personal_code"],
                "iban": f"LV{iban.calc_check_digits('LV00' + body)}{body}",
            }
        )
    # the note of each person quotes the next person's account number
    for i, p in enumerate(people):
        p["note"] = people[(i + 1) % 20]["iban"]
    rules = default_rules(schema)
    assert rules["iban"] == Rule(kind="pseudonymise", params={"generator": "iban"})
    spec = ReleaseSpec(
        key=KEY,
        datasets=(DatasetInput("people", schema, rules, lambda: iter(people), 20),),
        privacy=PrivacySettings(quasi_identifiers=()),
    )
    report = build_release(spec, lambda _c, _r: None)
    proof = report.details["leak_proof"]
    assert proof["leaks"] >= 20 and not report.passed
    assert proof["examples"][-1] == {"dataset": "*", "what": "20 plain cells equal originals"}
