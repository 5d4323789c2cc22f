import random
from datetime import date, timedelta

from stdnum.lv import pvn

from dagr.core import identifiers as ids


def test_generated_old_personal_codes_pass_stdnum_and_encode_the_birth_date():
    rng = random.Random(7)
    for _ in range(500):
        born = date(1900, 1, 1) + timedelta(days=rng.randrange(0, 45000))
        code = ids.make_old_personal_code(born, rng.randrange(1000))
        assert pvn.is_valid(code), code
        assert ids.is_valid_personal_code(code)
        assert ids.personal_code_birth_date(code) == born


def test_new_personal_codes_pass_stdnum():
    for serial in (0, 1, 12345678, 99999999):
        code = ids.make_new_personal_code(serial)
        assert pvn.is_valid(code)
        assert ids.is_valid_personal_code(code)
        assert ids.personal_code_birth_date(code) is None


def test_generated_company_codes_pass_stdnum():
    made = [c for c in (ids.make_company_code(s) for s in range(2000)) if c]
    assert len(made) > 1700
    for code in made:
        assert pvn.is_valid(code), code
        assert ids.is_valid_company_code(code)
        assert not ids.is_valid_personal_code(code)


def test_invalid_codes_are_rejected():
    good = ids.make_old_personal_code(date(1980, 5, 17), 123)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not ids.is_valid_personal_code(bad)
    assert not ids.is_valid_personal_code("320000")
    assert not ids.is_valid_company_code("40003000000")  # wrong checksum
    assert not ids.is_valid_address_code("12345678")
    assert ids.is_valid_address_code("100012345")
    assert ids.is_valid_postcode("LV-1050") and not ids.is_valid_postcode("LV1050")
