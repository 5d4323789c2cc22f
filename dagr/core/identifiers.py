"""Latvian identifiers: validation for the kinds a dataset field can declare.

python-stdnum implements the checksums of the old personal code and the company registration
number (``stdnum.lv.pvn``). It knows only the ``32…`` prefix of the new personal code; the
register issues ``3[2-9]…`` since 2017-07-01 without a published check digit, so that format is
checked by shape here.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum import exceptions as stdnum_errors
from stdnum.lv import pvn

PERSONAL_CODE = "personal_code"
COMPANY_CODE = "company_code"
ADDRESS_CODE = "address_code"
OTHER = "other"

_NEW_PERSONAL_CODE = re.compile(r"^3[2-9]\d{9}$")
_ADDRESS_CODE = re.compile(r"^\d{9}$")
_POSTCODE = re.compile(r"^LV-\d{4}$")


def compact(value: str) -> str:
    return re.sub(r"[\s-]", "", str(value)).strip()


def is_valid_personal_code(value: str) -> bool:
    number = compact(value)
    if not re.fullmatch(r"\d{11}", number):
        return False
    if _NEW_PERSONAL_CODE.match(number):
        return True
    if number[0] > "2":
        return False
    try:
        pvn.validate(number)
    except stdnum_errors.ValidationError:
        return False
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
    try:
        pvn.validate(number)
    except stdnum_errors.ValidationError:
        return False
    return True


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
