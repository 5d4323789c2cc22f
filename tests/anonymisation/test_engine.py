"""The release engine on the three linked demo registers (3,000 persons), built in memory."""

from __future__ import annotations

import copy
import random
from collections import Counter
from datetime import date
from typing import Any
from unittest import mock

import pytest
from stdnum.lv import pvn

from dagr.anonymisation.engine import (
    DatasetInput,
    PrivacySettings,
    QuasiIdentifier,
    ReleaseSpec,
    build_release,
    default_quasi_identifiers,
)
from dagr.anonymisation.rules import Rule, default_rules
from dagr.anonymisation.values import CompanyCodes, Keyring, PersonalCodes, shares_window
from dagr.catalog.schema import SchemaDef, compile_validator, parse_schema
from dagr.core import identifiers
from dagr.core.errors import ValidationError
from dagr.demo import generators, schemas

N = 3000
ADDR, PERS, COMP = (d["code"] for d in schemas.DATASETS)
KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


def _demo() -> tuple[dict[str, list[dict[str, Any]]], dict[str, SchemaDef]]:
    buildings, addresses = generators.collect_codes(
        generators.generate_addresses(random.Random(1), N // 2)
    )
    address_list = list(addresses)
    adults, persons = generators.adult_sample(
        random.Random(2), generators.generate_persons(random.Random(3), N, buildings), N
    )
    person_list = list(persons)
    companies = list(generators.generate_companies(random.Random(4), N // 5, adults, buildings))
    parsed = {d["code"]: parse_schema(d["schema"]) for d in schemas.DATASETS}
    data = {ADDR: address_list, PERS: person_list, COMP: companies}
    for code, records in data.items():
        validate = compile_validator(parsed[code])
        data[code] = [validate(r)[0] for r in records]  # the stored (normalised) form
    return data, parsed


def _spec(
    data: dict[str, list[dict[str, Any]]],
    parsed: dict[str, SchemaDef],
    key: bytes,
    *,
    k: int = 1,
    rules: dict[str, dict[str, Rule]] | None = None,
    qis: tuple[QuasiIdentifier, ...] | None = None,
) -> ReleaseSpec:
    datasets = tuple(
        DatasetInput(
            code=code,
            schema=parsed[code],
            rules=(rules or {}).get(code) or default_rules(parsed[code]),
            records=lambda code=code: iter(data[code]),
            count=len(data[code]),
        )
        for code in (ADDR, PERS, COMP)
    )
    if qis is None:
        qis = default_quasi_identifiers([(c, parsed[c]) for c in (ADDR, PERS, COMP)])
    return ReleaseSpec(
        key=key,
        datasets=datasets,
        privacy=PrivacySettings(quasi_identifiers=qis, k=k),
        address_codes=[(a["code"], a.get("parent_code")) for a in data[ADDR]],
    )


def _run(spec: ReleaseSpec) -> tuple[dict[str, list[dict[str, Any]]], Any, list[int]]:
    out: dict[str, list[dict[str, Any]]] = {ADDR: [], PERS: [], COMP: []}
    done: list[int] = []
    report = build_release(spec, lambda code, record: out[code].append(record), done.append)
    return out, report, done


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, list[dict[str, Any]]], dict[str, SchemaDef]]:
    return _demo()


@pytest.fixture(scope="module")
def release(demo: Any) -> tuple[dict[str, list[dict[str, Any]]], Any, list[int]]:
    data, parsed = demo
    return _run(_spec(data, parsed, KEY_A))


def test_every_output_record_passes_the_validator_and_stdnum(demo: Any, release: Any) -> None:
    data, parsed = demo
    out, _report, done = release
    for code in (ADDR, PERS, COMP):
        validate = compile_validator(parsed[code])
        assert len(out[code]) == len(data[code])
        assert [e for r in out[code] for e in validate(r)[1]] == []
    codes = [p["personal_code"] for p in out[PERS]]
    codes += [m["personal_code"] for c in out[COMP] for m in c["board_members"]]
    assert all(pvn.is_valid(c) for c in codes)
    assert all(identifiers.is_valid_personal_code(c) for c in codes)
    numbers = [c["registration_number"] for c in out[COMP]]
    assert all(pvn.is_valid(n) and identifiers.is_valid_company_code(n) for n in numbers)
    assert done[-1] == sum(len(v) for v in data.values())


def test_values_change_and_unique_values_stay_unique(demo: Any, release: Any) -> None:
    data, _parsed = demo
    out, _report, _done = release
    before = [p["personal_code"] for p in data[PERS]]
    after = [p["personal_code"] for p in out[PERS]]
    assert len(set(after)) == len(after) == len(set(before))
    assert not any(a == b for a, b in zip(before, after, strict=True))
    numbers = [c["registration_number"] for c in out[COMP]]
    assert len(set(numbers)) == len(numbers)
    for original, anonymised in zip(data[PERS], out[PERS], strict=True):
        assert anonymised["first_name"] != original["first_name"]
        assert anonymised["last_name"] != original["last_name"]
        assert "citizenship" not in anonymised  # optional personal string → null
        assert anonymised["gender"] == original["gender"]
        # birth date and the old-format code agree; the birth month is kept
        born = anonymised["birth_date"]
        assert born[:7] == original["birth_date"][:7]
        assert born != original["birth_date"]
        code = anonymised["personal_code"]
        if not code.startswith("32"):
            assert identifiers.personal_code_birth_date(code).isoformat() == born
    # a person's address is another existing building of the same street (or, for a street of
    # one building, of the same locality)
    parents = {a["code"]: a.get("parent_code") for a in data[ADDR]}
    moved = 0
    for original, anonymised in zip(data[PERS], out[PERS], strict=True):
        before, after = original["declared_address_code"], anonymised["declared_address_code"]
        if before == after:
            continue
        moved += 1
        assert after in parents
        assert parents[after] == parents[before] or (
            parents[parents[after]] == parents[parents[before]]
        )
    assert moved > N * 0.95


def test_no_dangling_references_and_equal_join_cardinalities(demo: Any, release: Any) -> None:
    data, _parsed = demo
    out, _report, _done = release
    address_codes = {a["code"] for a in out[ADDR]}
    assert all(p["declared_address_code"] in address_codes for p in out[PERS])
    assert all(c["address_code"] in address_codes for c in out[COMP])
    person_codes = {p["personal_code"] for p in out[PERS]}
    members = [m for c in out[COMP] for m in c["board_members"]]
    assert members and all(m["personal_code"] in person_codes for m in members)
    mapping = {
        a["personal_code"]: b["personal_code"] for a, b in zip(data[PERS], out[PERS], strict=True)
    }
    before = Counter(m["personal_code"] for c in data[COMP] for m in c["board_members"])
    after = Counter(m["personal_code"] for m in members)
    assert after == Counter({mapping[code]: n for code, n in before.items()})
    # board members carry the same fake names as the same person in the population register
    by_code = {p["personal_code"]: p for p in out[PERS]}
    for m in members:
        person = by_code[m["personal_code"]]
        assert (m["first_name"], m["last_name"]) == (person["first_name"], person["last_name"])


def test_same_key_same_output_other_key_unlinkable(demo: Any, release: Any) -> None:
    data, parsed = demo
    out, report, _done = release
    again, report_again, _ = _run(_spec(data, parsed, KEY_A))
    assert again == out
    assert report_again.as_json() == report.as_json()
    other, _r, _d = _run(_spec(data, parsed, KEY_B))
    codes_a = {p["personal_code"] for p in out[PERS]}
    codes_b = {p["personal_code"] for p in other[PERS]}
    assert codes_a.isdisjoint(codes_b)
    numbers_a = {c["registration_number"] for c in out[COMP]}
    numbers_b = {c["registration_number"] for c in other[COMP]}
    assert len(numbers_a & numbers_b) <= 1  # two samples of 600 from ~900,000 valid numbers
    same_names = sum(
        (a["first_name"], a["last_name"]) == (b["first_name"], b["last_name"])
        for a, b in zip(out[PERS], other[PERS], strict=True)
    )
    assert same_names < N * 0.01  # chance: about 1 in 10,000 name pairs


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _originals(record: dict[str, Any], code: str) -> list[str]:
    """The record's original personal values: codes and the personal strings not kept."""
    if code == ADDR:
        return []
    if code == PERS:
        return [record["personal_code"]]
    return [record["registration_number"]] + [m["personal_code"] for m in record["board_members"]]


def _full_names(record: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """Names are checked as full names (pieces of names are ordinary words: see privacy.py)."""
    people = [record] if code == PERS else record.get("board_members", [])
    return [(p["first_name"], p["last_name"]) for p in people if p.get("first_name")]


def test_no_original_value_leaks(demo: Any, release: Any) -> None:
    """Brute force, independent of the engine's proof: the values a person had are nowhere in
    their output record (no 6-character piece of their own code or name in any cell except the
    address codes), and no output cell that is not itself a pseudonym is an original code."""
    data, _parsed = demo
    out, report, _done = release
    all_codes = {p["personal_code"] for p in data[PERS]} | {
        c["registration_number"] for c in data[COMP]
    }
    for code in (ADDR, PERS, COMP):
        for original, anonymised in zip(data[code], out[code], strict=True):
            if code == PERS:
                cells = [v for k, v in anonymised.items() if k != "declared_address_code"]
                owners = [(original, anonymised)]
            elif code == COMP:
                cells = _strings({k: v for k, v in anonymised.items() if k != "address_code"})
                owners = list(
                    zip(original["board_members"], anonymised["board_members"], strict=True)
                )
                reg_o, reg_a = original["registration_number"], anonymised["registration_number"]
                assert not any(reg_o[i : i + 6] in reg_a for i in range(6))
            else:
                cells = [anonymised["name"], anonymised.get("full_address", "")]
                owners = []
            # each person's own code and names: no 6-character piece in the person's cells
            for before, after in owners:
                mine = _strings(after)
                for value in (before["personal_code"], before.get("last_name", "")):
                    for i in range(len(value) - 5):
                        assert not any(value[i : i + 6] in cell for cell in mine), (value, after)
                assert after["personal_code"] != before["personal_code"]
            # every original of the record: not in any plain (kept) cell of the record
            plain = [
                c
                for c in cells
                if c not in {o.get("personal_code") for _b, o in owners}
                and c not in {o.get(k) for _b, o in owners for k in ("first_name", "last_name")}
                and c != anonymised.get("registration_number")
            ]
            for value in _originals(original, code):
                for i in range(len(value) - 5):
                    assert not any(value[i : i + 6] in cell for cell in plain)
            for first, last in _full_names(original, code):
                assert not any(first in cell and last in cell for cell in cells)
            # globally: no plain cell is or contains an original code
            for cell in plain:
                digits = "".join(ch if ch.isdigit() else " " for ch in cell).split()
                for run in digits:
                    for i in range(len(run) - 10):
                        assert run[i : i + 11] not in all_codes
    proof = report.details["leak_proof"]
    assert proof["leaks"] == 0
    assert proof["records"] == sum(len(v) for v in data.values())
    assert proof["windows_checked"] > N * 6
    assert report.passed


def _territories(addresses: list[dict[str, Any]]) -> dict[str, str]:
    parent = {a["code"]: a.get("parent_code") for a in addresses}

    def top(code: str) -> str:
        while parent.get(code):
            code = parent[code]  # type: ignore[assignment]
        return code

    return {code: top(code) for code in parent}


def test_k_reported_equals_a_direct_count(demo: Any, release: Any) -> None:
    _data, _parsed = demo
    out, report, _done = release
    territory = _territories(out[ADDR])
    classes = Counter(
        (p["gender"], p["birth_date"][:4], territory[p["declared_address_code"]]) for p in out[PERS]
    )
    assert report.k == min(classes.values())
    assert report.details["classes"] == len(classes)
    smallest = report.details["smallest_classes"]
    assert len(smallest) == 10 and smallest[0]["size"] == report.k


def test_refused_below_k_with_advice(demo: Any) -> None:
    data, parsed = demo
    qis = (
        QuasiIdentifier(PERS, "birth_date", "year"),
        QuasiIdentifier(PERS, "gender"),
    )
    out, report, _done = _run(_spec(data, parsed, KEY_A, k=10**6, qis=qis))
    assert report.passed is False
    assert report.k is not None and report.k < 10**6
    advice = report.details["advice"]
    assert advice[0]["code"] == "k_too_small" and advice[0]["lv"] and advice[0]["en"]
    decade = next(a for a in advice if a["code"] == "generalise_decade")
    assert decade["path"] == "birth_date" and decade["k"] > report.k
    years = Counter((p["birth_date"][:3], p["gender"]) for p in out[PERS])
    assert decade["k"] == min(years.values())
    # with k reachable, it passes
    _out, ok, _ = _run(_spec(data, parsed, KEY_A, k=report.k, qis=qis))
    assert ok.passed


def test_quasi_identifiers_across_datasets_join_on_the_output_code(demo: Any) -> None:
    """A QI in the company register keyed by person is impossible; here the population register
    contributes two QIs and the l-diversity over citizenship is computed on the join."""
    data, parsed = demo
    rules = default_rules(parsed[PERS]) | {"citizenship": Rule(kind="mask")}
    spec = _spec(
        data,
        parsed,
        KEY_A,
        rules={PERS: rules},
        qis=(QuasiIdentifier(PERS, "gender"), QuasiIdentifier(PERS, "birth_date", "decade")),
    )
    spec = ReleaseSpec(
        key=spec.key,
        datasets=spec.datasets,
        privacy=PrivacySettings(
            quasi_identifiers=spec.privacy.quasi_identifiers,
            sensitive=((PERS, "citizenship"),),
            k=2,
        ),
        address_codes=spec.address_codes,
    )
    out, report, _ = _run(spec)
    assert report.l_diversity == 1  # every citizenship is masked to "***"
    assert all(p["citizenship"] == "***" for p in out[PERS] if "citizenship" in p)


def test_invalid_rules_are_refused_before_anything_is_written(demo: Any) -> None:
    data, parsed = demo
    bad = default_rules(parsed[PERS]) | {"first_name": Rule(kind="keep")}
    written: list[Any] = []
    with pytest.raises(ValidationError) as caught:
        build_release(_spec(data, parsed, KEY_A, rules={PERS: bad}), lambda c, r: written.append(r))
    assert written == []
    assert caught.value.errors[0]["path"] == "first_name"
    assert caught.value.errors[0]["code"] == "keep_personal"


def test_other_rules_generalise_mask_constant_in_nested_lists(demo: Any) -> None:
    data, parsed = demo
    rules = default_rules(parsed[COMP]) | {
        "registration_date": Rule(kind="generalise", params={"level": "year"}),
        "board_members.role": Rule(kind="constant", params={"value": "loceklis"}),
        "board_members.since": Rule(kind="generalise", params={"level": "month"}),
        "name": Rule(kind="mask", params={"keep_start": 3}),
    }
    out, report, _ = _run(_spec(data, parsed, KEY_A, rules={COMP: rules}))
    validate = compile_validator(parsed[COMP])
    for before, after in zip(data[COMP], out[COMP], strict=True):
        assert validate(after)[1] == []
        assert after["registration_date"] == before["registration_date"][:4] + "-01-01"
        assert after["name"][:3] == before["name"][:3] and set(after["name"][3:]) == {"*"}
        for m_before, m_after in zip(before["board_members"], after["board_members"], strict=True):
            assert m_after["role"] == "loceklis"
            assert m_after["since"] == m_before["since"][:7] + "-01"
    fields = report.details["datasets"][COMP]["fields"]
    assert fields["board_members.since"]["category"] == "generalised"
    assert fields["board_members.role"]["category"] == "suppressed"
    assert fields["board_members.since"]["values"] == sum(
        len(c["board_members"]) for c in data[COMP]
    )


def _orbit(step: Any, start: str, n: int) -> list[str]:
    """``start`` and its images under the bare bijection ``step``, as long as it has them: a
    set of originals where (without the disjoint tables) every code's image is the next one."""
    codes = [start]
    while len(codes) < n:
        nxt = step(codes[-1])
        if nxt is None or nxt in codes or nxt[:2] == "32":
            break
        codes.append(nxt)
    return codes


def _dense(data: dict[str, list[dict[str, Any]]], key: bytes) -> dict[str, list[dict[str, Any]]]:
    """The demo data with the first persons' codes replaced by a chain of the release key's
    personal-code bijection in one birth month (and the companies' numbers by a chain of the
    company bijection), references rewritten alike: the densest case there is."""
    keys = Keyring(key)
    chain = _orbit(
        PersonalCodes(keys).regular, identifiers.make_old_personal_code(date(1980, 5, 7), 1), 400
    )
    companies = CompanyCodes(keys)
    numbers = _orbit(companies._quiet, data[COMP][0]["registration_number"], len(data[COMP]))
    assert len(chain) > 100 and len(numbers) > 50
    persons = {p["personal_code"]: new for p, new in zip(data[PERS], chain, strict=False)}
    firms = {c["registration_number"]: new for c, new in zip(data[COMP], numbers, strict=False)}
    out = copy.deepcopy(data)
    for p in out[PERS]:
        if p["personal_code"] in persons:
            p["personal_code"] = persons[p["personal_code"]]
            born = identifiers.personal_code_birth_date(p["personal_code"])
            assert born is not None
            p["birth_date"] = born.isoformat()
    for c in out[COMP]:
        c["registration_number"] = firms.get(c["registration_number"], c["registration_number"])
        for m in c.get("board_members", []):
            m["personal_code"] = persons.get(m["personal_code"], m["personal_code"])
    return out


def _cells(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [c for v in value.values() for c in _cells(v)]
    if isinstance(value, list):
        return [c for v in value for c in _cells(v)]
    return [] if value is None else [str(value)]


def test_no_output_cell_is_an_original_code_even_in_dense_blocks(demo: Any) -> None:
    """Brute force over every output cell of every dataset against every original personal code
    and company number of the release — also where the originals are a chain of the bijection
    itself (each code's bijection image is another original): no cell is one, nor contains one
    in a run of digits; the codes stay valid, one-to-one, in their birth month, agree with the
    birth date, and the engine's proof says 0 leaks."""
    data, parsed = demo
    for dense in (False, True):
        source = _dense(data, KEY_A) if dense else data
        out, report, _done = _run(_spec(source, parsed, KEY_A))
        originals = {p["personal_code"] for p in source[PERS]}
        originals |= {m["personal_code"] for c in source[COMP] for m in c["board_members"]}
        originals |= {c["registration_number"] for c in source[COMP]}
        for code in (ADDR, PERS, COMP):
            for record in out[code]:
                for cell in _cells(record):
                    assert cell not in originals, (code, cell)
                    digits = "".join(ch if ch.isdigit() else " " for ch in cell).split()
                    for run in digits:
                        for i in range(len(run) - 10):
                            assert run[i : i + 11] not in originals, (code, cell)
        codes = {
            b["personal_code"]: a["personal_code"]
            for b, a in zip(source[PERS], out[PERS], strict=True)
        }
        assert len(set(codes.values())) == len(codes)
        for before, after in zip(source[PERS], out[PERS], strict=True):
            new = after["personal_code"]
            assert pvn.is_valid(new) and not shares_window(before["personal_code"], new)
            born = identifiers.personal_code_birth_date(new)
            if born is not None:  # old format: the same month, the shifted birth date
                assert born.isoformat()[:7] == before["birth_date"][:7]
                assert after["birth_date"] == born.isoformat()
        for c_before, c_after in zip(source[COMP], out[COMP], strict=True):
            new = c_after["registration_number"]
            assert identifiers.is_valid_company_code(new)
            assert not shares_window(c_before["registration_number"], new)
            for m_before, m_after in zip(
                c_before["board_members"], c_after["board_members"], strict=True
            ):
                if m_before["personal_code"] in codes:  # the same mapping: joins survive
                    assert m_after["personal_code"] == codes[m_before["personal_code"]]
        numbers = [c["registration_number"] for c in out[COMP]]
        assert len(set(numbers)) == len(numbers)
        proof = report.details["leak_proof"]
        assert proof["leaks"] == 0 and report.passed
        assert proof["codes_looked_up"] >= len(source[PERS])
        if dense:
            assert report.details["identifiers"]["personal_codes_displaced"] > 100
            assert report.details["identifiers"]["company_codes_displaced"] > 50


def test_the_proof_counts_an_output_code_equal_to_an_original_as_a_leak(demo: Any) -> None:
    """The proof is not vacuous: with the tables switched off, a chain of the bijection maps
    persons onto other persons' real codes, and the proof reports leaks (no longer
    "coincidences") and refuses the release."""
    data, parsed = demo
    source = _dense(data, KEY_A)
    with (
        mock.patch.object(PersonalCodes, "prepare", lambda self, *_args: None),
        mock.patch.object(CompanyCodes, "prepare", lambda self, *_args: None),
    ):
        _out, report, _done = _run(_spec(source, parsed, KEY_A))
    proof = report.details["leak_proof"]
    assert proof["leaks"] > 100
    assert any("equal originals" in e["what"] for e in proof["examples"])
    assert not report.passed
