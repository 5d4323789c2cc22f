"""Latvian identifiers: validation for the kinds a dataset field can declare.

python-stdnum implements the checksums of the old personal code and the company registration
number (``stdnum.lv.pvn``). It knows only the ``32…`` prefix of the new personal code; the
register issues ``3[2-9]…`` since 2017-07-01 without a published check digit, so that format is
checked by shape here.
"""

from __future__ import annotations

import re
from datetime import date
from operator import mul

from stdnum.lv import pvn

PERSONAL_CODE = "personal_code"
COMPANY_CODE = "company_code"
ADDRESS_CODE = "address_code"
OTHER = "other"

_NEW_PERSONAL_CODE = re.compile(r"^3[2-9]\d{9}$")
_ADDRESS_CODE = re.compile(r"^\d{9}$")
_POSTCODE = re.compile(r"^LV-\d{4}$")


_SEPARATORS = re.compile(r"[\s-]")
_ELEVEN_DIGITS = re.compile(r"\d{11}")


def compact(value: str) -> str:
    text = str(value)
    if text.isalnum():  # nothing to remove (the common case: it runs several times per request)
        return text
    return _SEPARATORS.sub("", text).strip()


# --- normalisation: the one form a value is stored, looked up and audited in -------------------
# Loading (``catalog.schema``'s validator), lookups, search filters, record sets and the audit's
# subject hash all call these, so ``301227-18203`` and ``30122718203`` are the same person.

_COMPACTED_KINDS = frozenset({"personal_code", "company_code"})


def normalise(kind: str | None, value: object) -> str:
    """The stored form of an identifier value of ``kind``: personal codes and company numbers
    without spaces and hyphens; any other kind (address codes, ``other``) only stripped."""
    text = str(value).strip()
    return compact(text) if kind in _COMPACTED_KINDS else text


def subject_form(value: object) -> str:
    """The kind-independent form under which the access audit records a value (the audit does
    not know which kind a value asked for was): compacted like a personal code, upper-cased."""
    return compact(str(value)).upper()


def is_valid_personal_code(value: str) -> bool:
    number = compact(value)
    # ``_ELEVEN_DIGITS.fullmatch`` and ``_NEW_PERSONAL_CODE.match`` without the regex engine
    # (``\d`` is any decimal digit: ``str.isdecimal``); this runs for every value of a batch.
    if len(number) != 11 or not number.isdecimal():
        return False
    if number.isascii():
        return is_valid_plain_personal_code(number)
    # Other Unicode decimal digits (which ``\d`` accepted): the general check below.
    if number[0] == "3" and "2" <= number[1] <= "9":
        return True
    if number[0] > "3" or number[6] not in "012":  # a legal entity's number / no such century
        return False
    # What stdnum.lv.pvn.validate checks (a valid birth date, the check digit), inlined: it runs
    # for every personal code of every load, and stdnum's generic cleaning costs ~10 µs a call.
    if personal_code_check_digit(number[:10]) != number[10]:
        return False
    try:
        date(1800 + 100 * int(number[6]) + int(number[4:6]), int(number[2:4]), int(number[:2]))
    except ValueError:
        return False
    return True


_DIGIT_VALUE = {str(d): d for d in range(10)}
_VALID_BIRTH: set[str] = set()  # "DDMMYYC" prefixes found to be real dates (at most ~110k)


def is_plain_digits(value: str, length: int) -> bool:
    """``value`` is exactly ``length`` ASCII digits (no regex: a load asks this per value)."""
    return len(value) == length and value.isascii() and value.isdigit()


def is_valid_plain_personal_code(number: str) -> bool:
    """``is_valid_personal_code`` for a value of exactly 11 ASCII digits (``is_plain_digits``),
    without compacting or a regular expression: loading checks every personal code of every
    record with it. The birth dates already seen valid are remembered (a bounded set: at most
    one entry per day of 1800-2099). tests/catalog/test_fast_validator.py compares it with
    ``is_valid_personal_code``."""
    if number[0] == "3" and number[1] in "23456789":
        return True  # the new format (``_NEW_PERSONAL_CODE``)
    if number[0] > "3" or number[6] not in "012":
        return False
    v = _DIGIT_VALUE
    total = (
        v[number[0]]
        + 6 * v[number[1]]
        + 3 * v[number[2]]
        + 7 * v[number[3]]
        + 9 * v[number[4]]
        + 10 * v[number[5]]
        + 5 * v[number[6]]
        + 8 * v[number[7]]
        + 4 * v[number[8]]
        + 2 * v[number[9]]
    )
    if (1101 - total) % 11 % 10 != v[number[10]]:
        return False
    born = number[:7]
    if born in _VALID_BIRTH:
        return True
    try:
        date(1800 + 100 * int(number[6]) + int(number[4:6]), int(number[2:4]), int(number[:2]))
    except ValueError:
        return False
    _VALID_BIRTH.add(born)
    return True


def personal_code_birth_date(value: str) -> date | None:
    """Birth date encoded in an old-format personal code; None for the new format."""
    number = compact(value)
    if _NEW_PERSONAL_CODE.match(number) or not is_valid_personal_code(number):
        return None
    return pvn.get_birth_date(number)


def is_valid_company_code(value: str) -> bool:
    number = compact(value)
    if not re.fullmatch(r"\d{11}", number) or number[0] <= "3":
        return False
    # stdnum.lv.pvn's legal-entity checksum, inlined for speed (see is_valid_personal_code)
    return sum(w * int(d) for w, d in zip((*_COMPANY_WEIGHTS, 1), number, strict=True)) % 11 == 3


def is_valid_address_code(value: str) -> bool:
    return bool(_ADDRESS_CODE.match(str(value)))


def is_valid_postcode(value: str) -> bool:
    return bool(_POSTCODE.match(str(value)))


VALIDATORS = {
    PERSONAL_CODE: is_valid_personal_code,
    COMPANY_CODE: is_valid_company_code,
    ADDRESS_CODE: is_valid_address_code,
}


def is_valid_identifier(kind: str, value: str) -> bool:
    validator = VALIDATORS.get(kind)
    return True if validator is None else validator(value)


# --- generation (demo data, test datasets, test factories) -------------------------------------
# Hand-written because no library generates *valid* Latvian codes; each generated value is checked
# against python-stdnum in tests/core/test_identifiers.py.

_PERSON_WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_COMPANY_WEIGHTS = (9, 1, 4, 8, 3, 10, 2, 5, 7, 6)


def personal_code_check_digit(first_ten: str) -> str:
    if len(first_ten) != 10:
        raise ValueError("a personal code's check digit is computed from its first ten digits")
    # ``map`` instead of a generator over ``zip``: half the cost (it runs for every value of a
    # batch lookup and of a load).
    total = sum(map(mul, _PERSON_WEIGHTS, map(int, first_ten)))
    return str((1101 - total) % 11 % 10)


def make_old_personal_code(birth_date: date, serial: int) -> str:
    """``DDMMYYCNNNQ`` (without the hyphen); ``serial`` 0–999 is the NNN part."""
    century = {18: "0", 19: "1", 20: "2"}[birth_date.year // 100]
    first_ten = f"{birth_date:%d%m}{birth_date.year % 100:02d}{century}{serial % 1000:03d}"
    return first_ten + personal_code_check_digit(first_ten)


def make_new_personal_code(serial: int) -> str:
    """New-format code ``32`` + 8 digits + a last digit computed like the old format's check
    digit: the register publishes no check digit, but python-stdnum expects this one, and
    generated codes should pass every validator a recipient might run."""
    first_ten = f"32{serial % 100_000_000:08d}"
    return first_ten + personal_code_check_digit(first_ten)


def make_company_code(serial: int, prefix: str = "4000") -> str | None:
    """``prefix`` + serial padded to 10 digits + check digit so that Σwd mod 11 = 3; None when
    no digit satisfies the checksum for this serial (about one serial in eleven)."""
    first_ten = f"{prefix}{serial:0{10 - len(prefix)}d}"[:10]
    total = sum(w * int(d) for w, d in zip(_COMPANY_WEIGHTS, first_ten, strict=True))
    last = (3 - total) % 11
    return None if last == 10 else first_ten + str(last)


def format_personal_code(code: str) -> str:
    """Display form with the hyphen: ``DDMMYY-CNNNQ``."""
    number = compact(code)
    return f"{number[:6]}-{number[6:]}" if len(number) == 11 else number
