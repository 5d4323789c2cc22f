"""The condition engine's validation, date arithmetic and field projection."""

from __future__ import annotations

from datetime import date

import pytest

from dagr.catalog.schema import parse_schema
from dagr.core.errors import ValidationError
from dagr.grants.conditions import Duration, compile_predicate, to_sql, validate_conditions
from dagr.grants.fields import normalize_fields, project_fields
from tests.grants.factories import PERSON_SCHEMA

SCHEMA = parse_schema(PERSON_SCHEMA)


def codes(raw):
    with pytest.raises(ValidationError) as info:
        validate_conditions(raw, SCHEMA)
    assert info.value.code == "invalid_conditions"
    return [e["code"] for e in info.value.errors]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({"field": "nope", "op": "eq", "value": 1}, "unknown_field"),
        ({"field": "board_members.role", "op": "eq", "value": "x"}, "nested_field_not_supported"),
        ({"field": "board_members", "op": "not_empty"}, "nested_field_not_supported"),
        ({"field": "name", "op": "older_than", "value": {"years": 1}}, "operator_not_allowed"),
        ({"field": "resident", "op": "gt", "value": True}, "operator_not_allowed"),
        ({"field": "updated", "op": "gt", "value": "2024-01-01T00:00:00+00:00"},
         "operator_not_allowed"),
        ({"field": "name", "op": "like", "value": "x"}, "unknown_operator"),
        ({"field": "children", "op": "eq", "value": "3"}, "invalid_value"),
        ({"field": "children", "op": "eq", "value": 2.5}, "invalid_value"),
        ({"field": "children", "op": "eq", "value": True}, "invalid_value"),
        ({"field": "income", "op": "gt", "value": "1,5"}, "invalid_value"),
        ({"field": "birth_date", "op": "eq", "value": "2024-02-30"}, "invalid_value"),
        ({"field": "birth_date", "op": "eq", "value": "1.2.2024"}, "invalid_value"),
        ({"field": "name", "op": "eq", "value": 5}, "invalid_value"),
        ({"field": "name", "op": "empty", "value": "x"}, "value_not_expected"),
        ({"field": "name", "op": "in", "value": []}, "invalid_list"),
        ({"field": "name", "op": "in", "value": "a"}, "invalid_list"),
        ({"field": "children", "op": "between", "value": [5, 1]}, "invalid_range"),
        ({"field": "children", "op": "between", "value": [1]}, "invalid_range"),
        ({"field": "birth_date", "op": "older_than", "value": {"weeks": 2}}, "invalid_duration"),
        ({"field": "birth_date", "op": "older_than", "value": {"years": -1}}, "invalid_duration"),
        ({"field": "birth_date", "op": "older_than", "value": {"years": 0}}, "invalid_duration"),
        ({"field": "birth_date", "op": "older_than", "value": 18}, "invalid_duration"),
        ({"field": "name"}, "invalid_condition"),
        ("name = 1", "invalid_condition"),
        ({"field": "name", "op": "eq", "value": "x", "extra": 1}, "invalid_condition"),
    ],
)  # fmt: skip
def test_invalid_conditions_have_clear_codes(raw, code):
    assert codes([raw]) == [code]


def test_every_problem_is_reported_with_its_location():
    with pytest.raises(ValidationError) as info:
        validate_conditions(
            [
                {"field": "name", "op": "eq", "value": "ok"},
                {"field": "nope", "op": "eq", "value": 1},
                {"field": "children", "op": "gt", "value": "x"},
            ],
            SCHEMA,
        )
    locations = [(e["location"], e["code"]) for e in info.value.errors]
    assert locations == [("conditions.1", "unknown_field"), ("conditions.2", "invalid_value")]
    assert "nope" in info.value.errors[0]["message"]


def test_errors_are_latvian_by_default_and_english_on_request():
    from django.utils import translation

    with translation.override("lv"):
        lv = codes_messages()
    with translation.override("en"):
        en = codes_messages()
    assert en == "the field 'nope' is not in the dataset's schema"
    assert lv != en and "nope" in lv


def codes_messages():
    with pytest.raises(ValidationError) as info:
        validate_conditions([{"field": "nope", "op": "eq", "value": 1}], SCHEMA)
    return info.value.errors[0]["message"]


def test_valid_conditions_are_typed():
    conds = validate_conditions(
        [
            {"field": "children", "op": "in", "value": [1, 2.0, 1]},
            {"field": "birth_date", "op": "newer_than", "value": {"months": 6}},
            {"field": "income", "op": "between", "value": [0, 10.5]},
        ],
        SCHEMA,
    )
    assert conds[0].value == (1, 2)
    assert conds[1].value == Duration(months=6)
    assert [c.as_json() for c in conds][1] == {
        "field": "birth_date",
        "op": "newer_than",
        "value": {"months": 6},
    }


# --- "older than" and 29 February ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "duration", "threshold"),
    [
        (date(2026, 3, 1), Duration(years=18), date(2008, 3, 1)),
        (date(2026, 2, 28), Duration(years=18), date(2008, 2, 28)),
        (date(2028, 2, 29), Duration(years=18), date(2010, 2, 28)),  # clamped
        (date(2028, 2, 29), Duration(years=4), date(2024, 2, 29)),
        (date(2026, 3, 31), Duration(months=1), date(2026, 2, 28)),
        (date(2024, 3, 31), Duration(months=1), date(2024, 2, 29)),
        (date(2026, 1, 15), Duration(months=13), date(2024, 12, 15)),
        (date(2026, 3, 1), Duration(days=1), date(2026, 2, 28)),
        (date(2026, 3, 31), Duration(years=1, months=1, days=1), date(2025, 2, 27)),
    ],
)
def test_calendar_arithmetic(today, duration, threshold):
    assert duration.before(today) == threshold


@pytest.mark.parametrize(
    ("today", "adult"),
    [
        (date(2026, 2, 27), False),
        (date(2026, 2, 28), False),  # 2026 has no 29 February: 18 on 1 March
        (date(2026, 3, 1), True),
    ],
)
def test_born_on_29_february_becomes_adult_on_1_march(today, adult):
    conds = validate_conditions(
        [{"field": "birth_date", "op": "older_than", "value": {"years": 18}}], SCHEMA
    )
    predicate = compile_predicate(conds, today=today)
    assert predicate({"birth_date": "2008-02-29"}) is adult
    newer = validate_conditions(
        [{"field": "birth_date", "op": "newer_than", "value": {"years": 18}}], SCHEMA
    )
    assert compile_predicate(newer, today=today)({"birth_date": "2008-02-29"}) is not adult


def test_older_than_threshold_is_one_sql_parameter():
    conds = validate_conditions(
        [{"field": "birth_date", "op": "older_than", "value": {"years": 18}}], SCHEMA
    )
    sql, params = to_sql(conds, column="t.data", vendor="sqlite", today=date(2026, 3, 1))
    assert params == ["2008-03-01"] and "<=" in sql
    with pytest.raises(ValueError, match="does not support"):
        to_sql(conds, column="t.data", vendor="oracle")


def test_missing_and_null_satisfy_only_empty():
    for op, value in [("eq", "x"), ("ne", "x"), ("in", ["x"]), ("gt", "a"), ("lt", "z")]:
        conds = validate_conditions([{"field": "name", "op": op, "value": value}], SCHEMA)
        predicate = compile_predicate(conds)
        assert not predicate({}) and not predicate({"name": None}), op
    empty = compile_predicate(validate_conditions([{"field": "name", "op": "empty"}], SCHEMA))
    assert empty({}) and empty({"name": None}) and not empty({"name": ""})


def test_no_conditions_let_everything_through():
    assert to_sql([], column="t.data", vendor="sqlite") == ("1 = 1", [])
    assert compile_predicate([])({"anything": 1})


# --- fields --------------------------------------------------------------------------------------


def test_normalize_fields_adds_lists_and_expands_bare_lists():
    assert normalize_fields(["board_members.role", "name"], SCHEMA) == [
        "name",
        "board_members",
        "board_members.role",
    ]
    assert normalize_fields(["board_members"], SCHEMA) == [
        "board_members",
        "board_members.personal_code",
        "board_members.role",
    ]


@pytest.mark.parametrize("raw", [[], ["nope"], "name", [1]])
def test_normalize_fields_refuses_bad_input(raw):
    with pytest.raises(ValidationError) as info:
        normalize_fields(raw, SCHEMA)
    assert info.value.code == "invalid_fields"


def test_project_fields_keeps_only_granted_nested_fields():
    record = {
        "personal_code": "010101-10006",
        "name": "Anna",
        "income": 10.5,
        "board_members": [
            {"personal_code": "020202-20007", "role": "valdes loceklis"},
            {"personal_code": "030303-30008"},
        ],
    }
    fields = normalize_fields(["name", "board_members.role"], SCHEMA)
    assert project_fields(record, fields) == {
        "name": "Anna",
        "board_members": [{"role": "valdes loceklis"}, {}],
    }
    assert project_fields({"other": 1}, fields) == {}
