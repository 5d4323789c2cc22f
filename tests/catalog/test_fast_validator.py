"""The generated fast path of the record validator (``compile_validator(fast=True)``, the
default) answers exactly what the reference closures (``fast=False``) answer: the same
normalised record for a valid one, the same errors (field, code, message in lv and en) for an
invalid one — over demo persons and over mutations of every field of every type, with and
without coercion. And ``is_valid_plain_personal_code`` agrees with ``is_valid_personal_code``."""

from __future__ import annotations

import random
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from dagr.catalog.schema import _compile_fast, compile_validator, parse_schema
from dagr.core import identifiers
from dagr.demo import generators
from dagr.demo.schemas import PERSONS


def f(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title_lv": name.upper(), "title_en": name.title(), "type": type_} | extra


TYPED = {
    "key": "personal_code",
    "fields": [
        f("personal_code", required=True, identifier="personal_code"),
        f("name", required=True),
        f("count", "integer"),
        f("amount", "decimal"),
        f("active", "boolean"),
        f("born", "date", required=True),
        f("seen", "datetime"),
        f("company", identifier="company_code"),
        f("address", identifier="address_code"),
        f("other", identifier="other"),
        f("number", "integer", identifier="other"),
        f(
            "members",
            "list",
            fields=[f("personal_code", required=True, identifier="personal_code"), f("role")],
        ),
    ],
}

PC = identifiers.make_old_personal_code(date(1980, 5, 17), 123)
NEW_PC = identifiers.make_new_personal_code(4567)
CC = next(c for c in (identifiers.make_company_code(n) for n in range(1, 50)) if c)

# Values a mutation puts into a field: valid and invalid of every kind the validators know.
VALUES: list[Any] = [
    None,
    "",
    " ",
    "x",
    "\x00",
    "a\x00b",
    0,
    1,
    -1,
    2**63,
    -(2**63) - 1,
    2**63 - 1,
    1.0,
    1.5,
    float("nan"),
    float("inf"),
    True,
    False,
    Decimal("2.5"),
    Decimal("NaN"),
    [],
    {},
    [{}],
    [{"personal_code": PC}],
    [{"personal_code": "bad"}],
    [1],
    "42",
    " 42 ",
    "+7",
    "1,5",
    "1e3",
    "jā",
    "nē",
    "yes",
    "TRUE",
    "2020-01-31",
    " 2020-01-31 ",
    "2020-02-30",
    "2020-W01-1",
    "20200131",
    "2020-01-31T10:00:00+02:00",
    "2020-01-31T10:00:00",
    date(2020, 1, 31),
    PC,
    f"{PC[:6]}-{PC[6:]}",
    f" {PC} ",
    PC[:-1] + str((int(PC[-1]) + 1) % 10),
    NEW_PC,
    "39000000000",
    "30000000000",
    "42103000000",
    "311299" + "31234",
    "3112993123",
    "٣٢٠٠٠٠٠٠٠٠١",
    "320000000011",
    CC,
    f"{CC[:4]}-{CC[4:]}",
    "123456789",
    " 123456789",
    "123456789\n",
    "12345678",
    "12345678a",
    "１２３４５６７８９",
    "x" * 300,
]


class Sub(str):
    pass


def mutations(base: dict[str, Any], names: list[str], rng: random.Random) -> list[Any]:
    """Each field set to every value, removed, or renamed; plus unknown fields and non-objects."""
    out: list[Any] = [base, dict(base), None, [], "text", 5]
    for name in names:
        for value in VALUES:
            out.append(base | {name: value})
        without = dict(base)
        without.pop(name, None)
        out.append(without)
        if isinstance(base.get(name), str):
            out.append(base | {name: Sub(base[name])})
    out.append(base | {"unknown": 1})
    out.append(base | {"unknown": None})
    for _ in range(300):  # several fields wrong at once
        record = dict(base)
        for name in rng.sample(names, 3):
            record[name] = rng.choice(VALUES)
        out.append(record)
    return out


def as_compared(result: tuple[Any, list[Any]]) -> tuple[Any, list[tuple[str, str, str]]]:
    data, errors = result
    return data, [(e.field, e.code, e.message) for e in errors]


def assert_same(document: dict[str, Any], records: list[Any], coerce: bool) -> int:
    schema = parse_schema(document)
    fast = compile_validator(schema, coerce=coerce)
    reference = compile_validator(schema, coerce=coerce, fast=False)
    accept = _compile_fast(schema.fields, coerce=coerce)  # the generated function alone
    accepted = 0
    for language in ("lv", "en"):
        with translation.override(language):
            for record in records:
                expected = as_compared(reference(record))
                got = as_compared(fast(record))
                assert got == expected, record
                if got[0] is not None:
                    assert list(got[0]) == list(expected[0]), record  # key order as well
                if type(record) is dict and (alone := accept(record)) is not None:
                    assert (alone, []) == expected, record
                    accepted += 1
    return accepted  # how many records the fast path itself accepted


@pytest.mark.parametrize("coerce", [False, True])
def test_the_fast_path_answers_like_the_reference_on_typed_records(coerce):
    base = {
        "personal_code": PC,
        "name": "Anna",
        "count": 3,
        "amount": 1.5,
        "active": True,
        "born": "1980-05-17",
        "seen": "2020-01-31T10:00:00+02:00",
        "company": CC,
        "address": "123456789",
        "other": " x ",
        "number": 7,
        "members": [{"personal_code": NEW_PC, "role": "chair"}],
    }
    names = [field["name"] for field in TYPED["fields"]]
    records = mutations(base, names, random.Random(1))
    accepted = assert_same(TYPED, records, coerce)
    assert accepted > 100  # the fast path itself accepted (it does not only pass records on)


@pytest.mark.parametrize("coerce", [False, True])
def test_the_fast_path_answers_like_the_reference_on_demo_persons(coerce):
    rng = random.Random(3)
    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(random.Random(1), 200)
    )
    for _address in addresses:  # fills ``buildings``
        pass
    persons = list(generators.generate_persons(rng, 2000, buildings))
    names = [field["name"] for field in PERSONS["schema"]["fields"]]
    records: list[Any] = list(persons)
    for person in persons[:20]:
        records += mutations(person, names, rng)
    assert assert_same(PERSONS["schema"], records, coerce) >= 2 * 2000


def reference_personal_code_check(value: str) -> bool:
    """``identifiers.is_valid_personal_code`` as it was before the checks without regex (main at
    ae63740), kept here as the reference both fast checks are compared with."""
    number = identifiers.compact(value)
    if not re.fullmatch(r"\d{11}", number):
        return False
    if re.match(r"^3[2-9]\d{9}$", number):
        return True
    if number[0] > "3" or number[6] not in "012":
        return False
    weights = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(w * int(d) for w, d in zip(weights, number[:10], strict=True))
    if str((1101 - total) % 11 % 10) != number[10]:
        return False
    try:
        date(1800 + 100 * int(number[6]) + int(number[4:6]), int(number[2:4]), int(number[:2]))
    except ValueError:
        return False
    return True


def test_the_plain_personal_code_check_agrees_with_the_general_one():
    rng = random.Random(5)
    codes = [identifiers.make_old_personal_code(date(1900, 1, 1), n) for n in range(1000)]
    codes += [identifiers.make_new_personal_code(n) for n in range(0, 10**8, 10**5)]
    codes += [f"{rng.randrange(10**11):011d}" for _ in range(50_000)]
    codes += [
        f"{d:02d}{m:02d}{y:02d}{c}{rng.randrange(10000):04d}"
        for d in (0, 1, 28, 29, 30, 31, 32)
        for m in (0, 1, 2, 12, 13)
        for y in (0, 1, 4, 99)
        for c in range(10)
    ]
    for code in codes:
        assert identifiers.is_plain_digits(code, 11)
        for _ in range(2):  # the second time from the remembered birth dates
            expected = reference_personal_code_check(code)
            assert identifiers.is_valid_plain_personal_code(code) is expected, code
            assert identifiers.is_valid_personal_code(code) is expected, code
    assert sum(map(identifiers.is_valid_personal_code, codes)) > 1000
    # Written forms the general check compacts, and other Unicode decimal digits (which ``\d``
    # accepted): the same answer as the reference.
    others = [f"{c[:6]}-{c[6:]}" for c in codes[:2000]] + [f" {c} " for c in codes[:200]]
    others += ["".join(chr(0x0660 + int(d)) for d in c) for c in codes[:500]]
    others += ["", "1234567890", "123456789012", "12345678901a"]
    for code in others:
        assert identifiers.is_valid_personal_code(code) is reference_personal_code_check(code), code


def test_plain_digits_means_ascii_digits_of_that_length():
    assert identifiers.is_plain_digits("123456789", 9)
    for value in (
        "12345678",
        "1234567890",
        "12345678a",
        "１２３４５６７８９",
        "12345678\n",
        "٣٢٣٢٣٢٣٢٣",
    ):
        assert not identifiers.is_plain_digits(value, 9)
