"""Generators of the three linked demo registers. Entirely fictitious; every value passes the real
validators (python-stdnum for personal codes and registration numbers).

Each generator is a pure function of a ``random.Random`` and its arguments, yields one record
(a dict matching the schema in ``dagr.demo.schemas``) at a time and never holds the whole
dataset: ``dagr demo --persons 1000000`` streams them straight into the loading service. The
output is identical for the same seed and arguments; with the same other arguments, a shorter
run is a prefix of a longer one.

How they link:
- addresses: a hierarchy county → city/parish → village → street → building; buildings are
  the addresses people and companies use.
- persons: ``declared_address_code`` is a building from the address register.
- companies: ``address_code`` is a building; ``board_members`` are adults from the population
  register, with the same names.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dagr.core.identifiers import (
    make_company_code,
    make_new_personal_code,
    make_old_personal_code,
)

from . import names

# A fixed "today" keeps the output independent of the day it is generated.
REFERENCE_DATE = date(2026, 1, 1)
NEW_CODES_SINCE = date(2017, 7, 1)  # persons born since then get a 32… code
LAT_MIN, LAT_MAX = 55.675, 58.085  # inside Latvia's bounding box
LON_MIN, LON_MAX = 20.975, 28.235
ADDRESS_TYPES = ("county", "city", "parish", "village", "street", "building")

_FIRST_BIRTH = date(1926, 1, 1).toordinal()
_LAST_BIRTH = date(2025, 12, 31).toordinal()
_ADULT_BORN_BEFORE = date(REFERENCE_DATE.year - 18, REFERENCE_DATE.month, REFERENCE_DATE.day)


def _permute(i: int, modulus: int, multiplier: int, offset: int) -> int:
    """A bijection of ``range(modulus)`` (``multiplier`` coprime to ``modulus``): unique serials
    that do not look sequential."""
    return (i * multiplier + offset) % modulus


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _adult_since(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + 18)
    except ValueError:  # 29 February
        return date(birth.year + 18, 3, 1)


# --- addresses -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Locality:
    code: str
    name: str
    label: str  # how it appears in a full address: "Sigulda, Siguldas nov."
    lat: float
    lon: float
    postcode: int
    spread: float
    streets: int = 0


@dataclass(slots=True)
class _Street:
    code: str
    name: str
    locality: _Locality
    lat: float
    lon: float
    postcode: int
    buildings: int = 0


def generate_addresses(rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    """``n`` addresses: counties and state cities first, then a growing hierarchy in which about
    two thirds of the addresses are buildings."""
    offset = rng.randrange(10_000_000)
    serial = 0

    def next_code() -> str:
        nonlocal serial
        serial += 1
        return str(100_000_000 + _permute(serial, 900_000_000, 7_919, offset))

    produced = 0
    cities: list[_Locality] = []
    parishes: list[tuple[_Locality, str]] = []  # (parish, county label)
    villages: list[_Locality] = []
    streets: list[_Street] = []
    counties: list[tuple[str, str, str, float, float, int]] = []  # code, label, ...

    def point(lat: float, lon: float, spread: float) -> tuple[float, float]:
        return (
            round(_clamp(lat + rng.uniform(-spread, spread), LAT_MIN, LAT_MAX), 6),
            round(_clamp(lon + rng.uniform(-spread, spread) * 1.8, LON_MIN, LON_MAX), 6),
        )

    def record(**fields: Any) -> dict[str, Any]:
        return {k: v for k, v in fields.items() if v is not None}

    # Top level: state cities (a city without a parent) and counties with their centre town.
    for county, centre, lat, lon, postcode in names.COUNTIES:
        if produced >= n:
            return
        if not county:
            code = next_code()
            city = _Locality(code, centre, centre, lat, lon, postcode, 0.04)
            cities.append(city)
            produced += 1
            yield record(
                code=code,
                type="city",
                name=centre,
                full_address=centre,
                postcode=f"LV-{postcode:04d}",
                latitude=lat,
                longitude=lon,
            )
            continue
        county_code = next_code()
        short = county.replace(" novads", " nov.")
        produced += 1
        yield record(
            code=county_code,
            type="county",
            name=county,
            full_address=county,
            latitude=lat,
            longitude=lon,
        )
        counties.append((county_code, short, county, lat, lon, postcode))
        if produced >= n:
            return
        code = next_code()
        town = _Locality(code, centre, f"{centre}, {short}", lat, lon, postcode, 0.025)
        cities.append(town)
        produced += 1
        yield record(
            code=code,
            type="city",
            name=centre,
            parent_code=county_code,
            full_address=town.label,
            postcode=f"LV-{postcode:04d}",
            latitude=lat,
            longitude=lon,
        )

    used_streets: dict[str, set[int]] = {}
    while produced < n:
        roll = rng.random()
        if roll < 0.02 or (roll < 0.06 and not parishes):
            county_code, short, _county, lat, lon, postcode = rng.choice(counties)
            full, genitive = rng.choice(names.PLACE_STEMS)
            name = f"{genitive} pagasts"
            plat, plon = point(lat, lon, 0.18)
            code = next_code()
            parish = _Locality(
                code,
                name,
                f"{genitive} pag., {short}",
                plat,
                plon,
                postcode + rng.randrange(1, 60),
                0.05,
            )
            parishes.append((parish, short))
            yield record(
                code=code,
                type="parish",
                name=name,
                parent_code=county_code,
                full_address=parish.label,
                postcode=f"LV-{parish.postcode:04d}",
                latitude=plat,
                longitude=plon,
            )
        elif roll < 0.06:
            parish, _short = rng.choice(parishes)
            full, _genitive = rng.choice(names.PLACE_STEMS)
            vlat, vlon = point(parish.lat, parish.lon, parish.spread)
            code = next_code()
            village = _Locality(
                code, full, f"{full}, {parish.label}", vlat, vlon, parish.postcode, 0.01
            )
            villages.append(village)
            yield record(
                code=code,
                type="village",
                name=full,
                parent_code=parish.code,
                full_address=village.label,
                postcode=f"LV-{village.postcode:04d}",
                latitude=vlat,
                longitude=vlon,
            )
        elif roll < 0.2 or not streets:
            in_town = rng.choice(cities) if (rng.random() < 0.75 or not villages) else None
            locality = in_town or rng.choice(villages)
            used = used_streets.setdefault(locality.code, set())
            index = rng.randrange(len(names.STREET_NAMES))
            while index in used and len(used) < len(names.STREET_NAMES):
                index = (index + 1) % len(names.STREET_NAMES)
            if index in used:  # every name taken in this locality: numbered lines
                index = len(used)
                name = f"{index - len(names.STREET_NAMES) + 1}. līnija"
            else:
                name = names.STREET_NAMES[index]
            used.add(index)
            locality.streets += 1
            slat, slon = point(locality.lat, locality.lon, locality.spread)
            postcode = locality.postcode + (locality.streets % 7 if in_town else 0)
            code = next_code()
            street = _Street(code, name, locality, slat, slon, postcode)
            streets.append(street)
            yield record(
                code=code,
                type="street",
                name=name,
                parent_code=locality.code,
                full_address=f"{name}, {locality.label}",
                postcode=f"LV-{postcode:04d}",
                latitude=slat,
                longitude=slon,
            )
        else:
            street = rng.choice(streets)
            street.buildings += 1
            number = str(street.buildings)
            if rng.random() < 0.05:
                number += rng.choice("ABC")
            blat, blon = point(street.lat, street.lon, 0.004)
            yield record(
                code=next_code(),
                type="building",
                name=number,
                parent_code=street.code,
                full_address=(
                    f"{street.name} {number}, {street.locality.label}, LV-{street.postcode:04d}"
                ),
                postcode=f"LV-{street.postcode:04d}",
                latitude=blat,
                longitude=blon,
            )
        produced += 1


# --- persons -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adult:
    """What the company register needs to know of a person."""

    personal_code: str
    first_name: str
    last_name: str
    birth_date: date


def generate_persons(
    rng: random.Random, n: int, building_codes: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """``n`` persons born 1926–2025: old-format codes (birth date and check digit consistent) for
    those born before 2017-07-01 except about 3 % who chose a new ``32…`` code, which everyone
    born since gets. Names match the gender; ``declared_address_code`` is one of
    ``building_codes``."""
    if not building_codes:
        raise ValueError("persons need at least one building address")
    serials: dict[int, int] = {}  # birth day ordinal -> codes issued on it
    new_offset = rng.randrange(100_000_000)
    new_serial = 0
    since = NEW_CODES_SINCE.toordinal()
    span = _LAST_BIRTH - _FIRST_BIRTH
    random_ = rng.random
    choice = rng.choice
    for _ in range(n):
        # Fewer people of the oldest ages: the later of two draws for a fifth of them.
        day = _FIRST_BIRTH + int(span * random_())
        if random_() < 0.2:
            day = max(day, _FIRST_BIRTH + int(span * random_()))
        count = serials.get(day, 0)
        while count >= 1000:  # at most 1,000 old codes per birth date
            day += 1
            count = serials.get(day, 0)
        born = date.fromordinal(day)
        if day >= since or random_() < 0.03:
            code = make_new_personal_code(_permute(new_serial, 100_000_000, 48_271, new_offset))
            new_serial += 1
        else:
            code = make_old_personal_code(born, _permute(count, 1000, 389, day))
            serials[day] = count + 1
        male = random_() < 0.47
        person = {
            "personal_code": code,
            "first_name": choice(names.FIRST_NAMES_MALE if male else names.FIRST_NAMES_FEMALE),
            "last_name": choice(names.LAST_NAMES_MALE if male else names.LAST_NAMES_FEMALE),
            "gender": "male" if male else "female",
            "birth_date": born.isoformat(),
            "citizenship": "LVA" if random_() < 0.9 else choice(("LTU", "EST", "UKR", "POL")),
            "declared_address_code": choice(building_codes),
        }
        yield person


def adult_sample(
    rng: random.Random, persons: Iterable[dict[str, Any]], size: int
) -> tuple[list[Adult], Iterator[dict[str, Any]]]:
    """Pass ``persons`` through unchanged while keeping a uniform sample (reservoir) of at most
    ``size`` adults; the list is complete once the returned iterator is exhausted."""
    sample: list[Adult] = []

    def passing() -> Iterator[dict[str, Any]]:
        seen = 0
        for person in persons:
            yield person
            born = date.fromisoformat(person["birth_date"])
            if born >= _ADULT_BORN_BEFORE:
                continue
            adult = Adult(person["personal_code"], person["first_name"], person["last_name"], born)
            seen += 1
            if len(sample) < size:
                sample.append(adult)
            else:
                slot = rng.randrange(seen)
                if slot < size:
                    sample[slot] = adult

    return sample, passing()


def collect_codes(
    addresses: Iterable[dict[str, Any]], kind: str = "building"
) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """Pass ``addresses`` through unchanged while collecting the codes of type ``kind``."""
    codes: list[str] = []

    def passing() -> Iterator[dict[str, Any]]:
        for address in addresses:
            if address["type"] == kind:
                codes.append(address["code"])
            yield address

    return codes, passing()


# --- companies -----------------------------------------------------------------------------------


def generate_companies(
    rng: random.Random, n: int, adults: Sequence[Adult], building_codes: Sequence[str]
) -> Iterator[dict[str, Any]]:
    """``n`` companies with valid registration numbers, a legal form, registration and (for
    about 12 %) termination dates, a building address and board members who are adults of the
    population register (18 or older on the day they joined)."""
    if not adults or not building_codes:
        raise ValueError("companies need adults and building addresses")
    forms = [form for form, _share, _role in names.LEGAL_FORMS]
    weights = [share for _form, share, _role in names.LEGAL_FORMS]
    roles = {form: role for form, _share, role in names.LEGAL_FORMS}
    offset = rng.randrange(1_000_000)
    serials = {"4000": 0, "4010": 0}
    first_day = date(1991, 1, 1).toordinal()
    last_day = REFERENCE_DATE.toordinal() - 1
    for _ in range(n):
        form = rng.choices(forms, weights)[0]
        registered = date.fromordinal(rng.randrange(first_day, last_day))
        prefix = "4000" if registered.year < 2004 else "4010"
        code = None
        while code is None:
            serials[prefix] += 1
            code = make_company_code(
                _permute(serials[prefix], 1_000_000, 7_901, offset), prefix=prefix
            )
        terminated = None
        if rng.random() < 0.12 and last_day - registered.toordinal() > 30:
            terminated = date.fromordinal(rng.randrange(registered.toordinal() + 30, last_day))
        end = (terminated or REFERENCE_DATE).toordinal()
        if form in ("IK", "ZS"):
            size = 1
            title = (
                f'{form} "{rng.choice(names.COMPANY_WORDS_A)} {rng.choice(names.COMPANY_WORDS_B)}"'
            )
        else:
            size = rng.choice((1, 1, 2, 3))
            title = (
                f'{form} "{rng.choice(names.COMPANY_WORDS_A)} '
                f'{rng.choice(names.COMPANY_WORDS_B).lower()}"'
            )
        board: list[dict[str, Any]] = []
        members: set[str] = set()
        for _attempt in range(size * 4):
            if len(board) == size:
                break
            adult = rng.choice(adults)
            start = max(registered, _adult_since(adult.birth_date)).toordinal()
            if adult.personal_code in members or start >= end:
                continue
            members.add(adult.personal_code)
            role = roles[form]
            if form in ("SIA", "AS") and size > 1 and not board:
                role = "valdes priekšsēdētājs"
            board.append(
                {
                    "personal_code": adult.personal_code,
                    "first_name": adult.first_name,
                    "last_name": adult.last_name,
                    "role": role,
                    "since": date.fromordinal(
                        rng.randrange(start, min(end, start + 730))
                    ).isoformat(),
                }
            )
        company = {
            "registration_number": code,
            "name": title,
            "legal_form": form,
            "registration_date": registered.isoformat(),
            "address_code": rng.choice(building_codes),
            "board_members": board,
        }
        if terminated:
            company["termination_date"] = terminated.isoformat()
        yield company
