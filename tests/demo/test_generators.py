from __future__ import annotations

import random
import re
from datetime import date

import pytest
from stdnum.lv import pvn

from dagr.catalog.schema import compile_validator, parse_schema
from dagr.core import identifiers as ids
from dagr.demo import generators as g
from dagr.demo import names, schemas

N_ADDRESSES, N_PERSONS, N_COMPANIES = 3000, 4000, 600


def build(seed: int = 1) -> tuple[list[dict], list[dict], list[dict], list[g.Adult]]:
    buildings, stream = g.collect_codes(g.generate_addresses(random.Random(seed), N_ADDRESSES))
    addresses = list(stream)
    adults, people = g.adult_sample(
        random.Random(seed + 1),
        g.generate_persons(random.Random(seed + 2), N_PERSONS, buildings),
        500,
    )
    persons = list(people)
    companies = list(g.generate_companies(random.Random(seed + 3), N_COMPANIES, adults, buildings))
    return addresses, persons, companies, adults


@pytest.fixture(scope="module")
def world() -> tuple[list[dict], list[dict], list[dict], list[g.Adult]]:
    return build()


def test_every_record_passes_its_schema(world):
    for spec, records in zip(schemas.DATASETS, world[:3], strict=True):
        validate = compile_validator(parse_schema(spec["schema"]))
        for record in records:
            normalised, errors = validate(record)
            assert not errors, (spec["code"], record, errors)
            assert normalised == record


def test_personal_codes_pass_stdnum_and_encode_the_birth_date(world):
    persons = world[1]
    codes = [p["personal_code"] for p in persons]
    assert len(set(codes)) == len(codes)
    new = 0
    for person in persons:
        code, born = person["personal_code"], date.fromisoformat(person["birth_date"])
        assert pvn.is_valid(code), code
        assert ids.is_valid_personal_code(code)
        if code.startswith("32"):
            new += 1
        else:
            assert born < g.NEW_CODES_SINCE
            assert pvn.get_birth_date(code) == born
            assert ids.personal_code_birth_date(code) == born
        if born >= g.NEW_CODES_SINCE:
            assert code.startswith("32")
    assert 0 < new < len(persons) // 4


def test_names_match_the_gender(world):
    for person in world[1]:
        male = person["gender"] == "male"
        assert person["first_name"] in (
            names.FIRST_NAMES_MALE if male else names.FIRST_NAMES_FEMALE
        )
        assert person["last_name"] in (names.LAST_NAMES_MALE if male else names.LAST_NAMES_FEMALE)
    genders = {p["gender"] for p in world[1]}
    assert genders == {"male", "female"}
    # gendered surname forms: no man is a "Bērziņa", no woman a "Bērziņš"
    assert not {"Bērziņa", "Kalniņa"} & {p["last_name"] for p in world[1] if p["gender"] == "male"}
    assert not {"Bērziņš", "Kalniņš"} & {
        p["last_name"] for p in world[1] if p["gender"] == "female"
    }


def test_addresses_form_a_hierarchy_inside_latvia(world):
    addresses = world[0]
    by_code = {a["code"]: a for a in addresses}
    assert len(by_code) == len(addresses) == N_ADDRESSES
    assert {a["type"] for a in addresses} == set(g.ADDRESS_TYPES)
    allowed_parents = {
        "county": set(),
        "city": {"county"},
        "parish": {"county"},
        "village": {"parish"},
        "street": {"city", "village"},
        "building": {"street"},
    }
    for a in addresses:
        assert re.fullmatch(r"[1-9]\d{8}", a["code"]) and ids.is_valid_address_code(a["code"])
        assert 55.67 <= a["latitude"] <= 58.09 and 20.97 <= a["longitude"] <= 28.24, a
        if "postcode" in a:
            assert ids.is_valid_postcode(a["postcode"]) and 1000 <= int(a["postcode"][3:]) <= 5999
        if "parent_code" in a:
            assert by_code[a["parent_code"]]["type"] in allowed_parents[a["type"]], a
        else:
            assert a["type"] in ("county", "city")
        if a["type"] == "building":
            assert a["postcode"] in a["full_address"]
    buildings = [a for a in addresses if a["type"] == "building"]
    assert len(buildings) > N_ADDRESSES / 2


def test_persons_live_at_building_addresses(world):
    buildings = {a["code"] for a in world[0] if a["type"] == "building"}
    assert all(p["declared_address_code"] in buildings for p in world[1])


def test_companies_have_valid_numbers_dates_addresses_and_adult_board_members(world):
    addresses, persons, companies, _adults = world
    buildings = {a["code"] for a in addresses if a["type"] == "building"}
    people = {p["personal_code"]: p for p in persons}
    numbers = [c["registration_number"] for c in companies]
    assert len(set(numbers)) == len(numbers)
    forms = {form for form, _share, _role in names.LEGAL_FORMS}
    terminated = 0
    for company in companies:
        assert pvn.is_valid(company["registration_number"])
        assert ids.is_valid_company_code(company["registration_number"])
        assert company["legal_form"] in forms and company["name"].startswith(company["legal_form"])
        assert company["address_code"] in buildings
        registered = date.fromisoformat(company["registration_date"])
        assert date(1991, 1, 1) <= registered < g.REFERENCE_DATE
        ended = company.get("termination_date")
        if ended:
            terminated += 1
            assert date.fromisoformat(ended) > registered
        assert company["board_members"], company
        for member in company["board_members"]:
            person = people[member["personal_code"]]  # exists in the population register
            assert (member["first_name"], member["last_name"]) == (
                person["first_name"],
                person["last_name"],
            )
            born = date.fromisoformat(person["birth_date"])
            since = date.fromisoformat(member["since"])
            assert since >= registered
            assert (since.year - born.year, since.month, since.day) >= (18, born.month, born.day)
            assert (g.REFERENCE_DATE.year - born.year) >= 18
            if ended:
                assert since < date.fromisoformat(ended)
    assert 0 < terminated < len(companies) // 4


def test_same_seed_same_data_other_seed_other_data():
    first, again, other = build(1), build(1), build(2)
    assert first[:3] == again[:3]
    for mine, theirs in zip(first[:3], other[:3], strict=True):
        assert mine != theirs


def test_a_shorter_run_is_a_prefix_of_a_longer_one():
    short = list(g.generate_addresses(random.Random(5), 300))
    long = list(g.generate_addresses(random.Random(5), 900))
    assert long[:300] == short
