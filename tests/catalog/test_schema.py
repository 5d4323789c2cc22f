"""The schema document rules (dagr.catalog.schema) and the compiled record validator."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from dagr.catalog.schema import compile_validator, extract_identifiers, parse_schema
from dagr.core.errors import ValidationError
from dagr.core.identifiers import make_company_code, make_old_personal_code

PC = make_old_personal_code(date(1980, 5, 17), 123)
PC2 = make_old_personal_code(date(1975, 1, 2), 45)
CC = next(c for c in (make_company_code(n) for n in range(1, 50)) if c)


def f(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title_lv": name.upper(), "title_en": name.title(), "type": type_} | extra


def doc(*fields: dict[str, Any], key: str = "id") -> dict[str, Any]:
    return {"key": key, "fields": [f("id", required=True, identifier="other"), *fields]}


def errors_of(document: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        parse_schema(document)
    assert caught.value.code == "invalid_schema"
    return caught.value.errors


def test_a_valid_schema_parses_and_exposes_identifiers_including_nested():
    schema = parse_schema(
        doc(
            f("company", identifier="company_code"),
            f("members", "list", fields=[f("personal_code", identifier="personal_code")]),
        )
    )
    assert schema.key == "id"
    assert schema.identifier_paths() == [
        ("id", "other"),
        ("company", "company_code"),
        ("members.personal_code", "personal_code"),
    ]
    assert [p for p, _ in schema.field_paths()] == [
        "id",
        "company",
        "members",
        "members.personal_code",
    ]


def test_as_document_drops_defaults_so_equivalent_documents_compare_equal():
    explicit = doc(f("x", required=False, personal=False, description_lv=""))
    implicit = doc(f("x"))
    assert parse_schema(explicit).as_document() == parse_schema(implicit).as_document()
    assert "required" not in parse_schema(implicit).as_document()["fields"][1]


@pytest.mark.parametrize("name", ["Name", "1abc", "with-dash", "", "a" * 64, "ā"])
def test_field_names_must_be_lowercase_identifiers(name):
    errors = errors_of(doc(f(name)))
    assert errors[0]["location"] == "fields.1.name"
    assert "lowercase" in errors[0]["message"]


def test_titles_are_required_and_limited_in_length():
    errors = errors_of(doc({"name": "x", "title_lv": "", "type": "string"}))
    by_location = {e["location"]: e["message"] for e in errors}
    assert by_location["fields.1.title_lv"] == "must not be empty"
    assert by_location["fields.1.title_en"] == "this setting is required"
    long = errors_of(doc(f("y", title_en="x" * 256)))
    assert long[0]["location"] == "fields.1.title_en"
    assert "255" in long[0]["message"]


def test_unknown_type_lists_the_allowed_types():
    errors = errors_of(doc(f("x", "text")))
    assert errors[0]["location"] == "fields.1.type"
    assert "'datetime'" in errors[0]["message"] and "'list'" in errors[0]["message"]


def test_unknown_settings_are_refused():
    errors = errors_of(doc(f("x", colour="red")))
    assert errors == [{"location": "fields.1.colour", "message": "unknown setting"}]
    assert errors_of(doc() | {"version": 2})[0]["location"] == "version"


def test_flags_must_be_booleans_and_identifier_kinds_known():
    errors = errors_of(doc(f("x", required="maybe", identifier="passport")))
    by_location = {e["location"]: e["message"] for e in errors}
    assert by_location["fields.1.required"] == "must be true or false"
    assert "personal_code" in by_location["fields.1.identifier"]


def test_a_list_needs_nested_fields_and_cannot_be_an_identifier():
    assert "needs nested 'fields'" in errors_of(doc(f("items", "list")))[0]["message"]
    errors = errors_of(doc(f("items", "list", identifier="other", fields=[f("a")])))
    assert "cannot itself be an identifier" in errors[0]["message"]
    assert errors[0]["location"] == "fields.1"


def test_only_lists_have_nested_fields():
    assert "only list fields" in errors_of(doc(f("x", fields=[f("a")])))[0]["message"]


@pytest.mark.parametrize("type_", ["decimal", "boolean", "date", "datetime"])
def test_identifiers_are_strings_or_integers(type_):
    assert (
        "must be of type string or integer"
        in errors_of(doc(f("x", type_, identifier="other")))[0]["message"]
    )


def test_integer_identifiers_are_allowed():
    assert parse_schema(doc(f("n", "integer", identifier="other"))).identifier_paths()[1] == (
        "n",
        "other",
    )


def test_field_names_are_unique_at_top_level_and_inside_lists():
    assert "defined twice" in errors_of(doc(f("x"), f("x")))[0]["message"]
    nested = errors_of(doc(f("items", "list", fields=[f("a"), f("a")])))
    assert "defined twice in 'items'" in nested[0]["message"]
    assert nested[0]["location"] == "fields.1"


def test_the_key_must_be_a_required_top_level_identifier():
    assert "not among the top-level fields" in errors_of(doc(key="nope"))[0]["message"]
    not_identifier = {"key": "x", "fields": [f("x", required=True)]}
    assert "required identifier" in errors_of(not_identifier)[0]["message"]
    not_required = {"key": "x", "fields": [f("x", identifier="other")]}
    assert "required identifier" in errors_of(not_required)[0]["message"]
    nested = doc(f("items", "list", fields=[f("y", required=True, identifier="other")]))
    assert "not among the top-level" in errors_of(nested | {"key": "y"})[0]["message"]


def test_lists_nest_at_most_three_levels():
    """The top-level fields count as the first level: two levels of lists inside them."""
    ok = doc(f("a", "list", fields=[f("b", "list", fields=[f("v")])]))
    parse_schema(ok)
    too_deep = doc(
        f("a", "list", fields=[f("b", "list", fields=[f("c", "list", fields=[f("v")])])])
    )
    assert "at most 3 levels" in errors_of(too_deep)[0]["message"]


def test_a_schema_needs_fields_and_must_be_a_mapping():
    assert errors_of({"key": "id", "fields": []})[0] == {
        "location": "fields",
        "message": "needs at least one field",
    }
    assert errors_of(["not", "a", "mapping"])[0]["location"] == ""
    missing = errors_of({})
    assert {e["location"] for e in missing} == {"key", "fields"}


def test_schema_messages_are_translated_to_latvian():
    with translation.override("lv"):
        errors = errors_of(doc(f("x", "text"), f("Bad")))
    messages = {e["location"]: e["message"] for e in errors}
    assert messages["fields.1.type"].startswith("jābūt vienam no")
    assert "mazos burtus" in messages["fields.2.name"]


# --- the record validator ----------------------------------------------------------------------

TYPED = parse_schema(
    {
        "key": "personal_code",
        "fields": [
            f("personal_code", required=True, identifier="personal_code"),
            f("count", "integer"),
            f("amount", "decimal"),
            f("active", "boolean"),
            f("born", "date"),
            f("seen", "datetime"),
            f("company", identifier="company_code"),
            f(
                "members",
                "list",
                fields=[f("personal_code", required=True, identifier="personal_code"), f("role")],
            ),
        ],
    }
)


def validate(record: Any, *, coerce: bool = False) -> tuple[Any, list[tuple[str, str]]]:
    out, errors = compile_validator(TYPED, coerce=coerce)(record)
    return out, [(e.field, e.code) for e in errors]


def test_a_valid_record_is_normalised():
    out, errors = validate(
        {
            "personal_code": PC,
            "count": 3.0,
            "amount": Decimal("2.50"),
            "active": False,
            "born": date(1980, 5, 17),
            "seen": datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
            "company": CC,
            "members": [{"personal_code": PC2}],
        }
    )
    assert errors == []
    assert out == {
        "personal_code": PC,
        "count": 3,
        "amount": 2.5,
        "active": False,
        "born": "1980-05-17",
        "seen": "2024-01-02T03:04:00+00:00",
        "company": CC,
        "members": [{"personal_code": PC2}],
    }


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("count", "7", "integer"),
        ("count", True, "integer"),
        ("count", 1.5, "integer"),
        ("amount", "abc", "decimal"),
        ("amount", "1,5", "decimal"),
        ("amount", True, "decimal"),
        ("active", "yes", "boolean"),
        ("active", 1, "boolean"),
        ("born", "2020-1-1", "date"),
        ("born", "2020-02-30", "date"),
        ("born", datetime(2020, 1, 1, tzinfo=UTC), "date"),
        ("seen", "2024-01-02T03:04:00", "datetime"),
        ("seen", "yesterday", "datetime"),
        ("company", 40003000000, "string"),
        ("company", "12345678901", "invalid_identifier"),
        ("members", {"personal_code": PC}, "list"),
        ("members", ["x"], "list"),
    ],
)
def test_strict_types_without_coercion(field, value, code):
    out, errors = validate({"personal_code": PC, field: value})
    assert out is None
    assert errors == [(field, code)]


def test_decimal_text_is_accepted_without_coercion_and_comma_with_it():
    assert validate({"personal_code": PC, "amount": "1.25"})[0]["amount"] == 1.25
    assert validate({"personal_code": PC, "amount": "1,5"}, coerce=True)[0]["amount"] == 1.5


def test_coercion_reads_spreadsheet_cells():
    out, errors = validate(
        {
            "personal_code": PC,
            "count": " 42 ",
            "active": "jā",
            "born": " 1980-05-17 ",
            "company": "",
            "role": None,
        }
        | {"members": []},
        coerce=True,
    )
    assert errors == [("role", "unknown_field")]
    out, errors = validate(
        {"personal_code": PC, "count": " 42 ", "active": "nē", "company": ""}, coerce=True
    )
    assert errors == []
    assert out == {"personal_code": PC, "count": 42, "active": False}


def test_empty_text_counts_as_missing_only_when_coercing():
    assert validate({"personal_code": ""}, coerce=True)[1] == [("personal_code", "required")]
    assert validate({"personal_code": ""})[1] == [("personal_code", "invalid_identifier")]


def test_required_unknown_and_non_objects():
    assert validate({})[1] == [("personal_code", "required")]
    assert validate({"personal_code": PC, "extra": 1})[1] == [("extra", "unknown_field")]
    assert validate(["not", "an", "object"])[1] == [("", "not_object")]


def test_errors_inside_nested_lists_name_the_nested_path():
    out, errors = validate(
        {
            "personal_code": PC,
            "members": [{"personal_code": PC2}, {"role": "x"}, {"personal_code": "bad", "z": 1}],
        }
    )
    assert out is None
    assert errors == [
        ("members.personal_code", "required"),
        ("members.personal_code", "invalid_identifier"),
        ("members.z", "unknown_field"),
    ]


def test_identifier_error_messages_name_the_kind():
    _, errors = compile_validator(TYPED)({"personal_code": "not-a-code"})
    assert errors[0].message == "is not a valid identifier of kind personal_code"
    assert errors[0].as_dict()["field"] == "personal_code"


def test_extract_identifiers_includes_nested_values_without_duplicates():
    record = {
        "personal_code": PC,
        "company": CC,
        "members": [{"personal_code": PC2}, {"personal_code": PC2}, {"personal_code": PC}],
    }
    assert extract_identifiers(TYPED, record) == [
        ("personal_code", PC),
        ("company", CC),
        ("members.personal_code", PC2),
        ("members.personal_code", PC),
    ]


def test_integer_identifiers_are_extracted_as_text():
    schema = parse_schema(
        {"key": "n", "fields": [f("n", "integer", required=True, identifier="other")]}
    )
    out, errors = compile_validator(schema)({"n": 7})
    assert errors == [] and extract_identifiers(schema, copy.deepcopy(out)) == [("n", "7")]


@pytest.mark.parametrize(
    ("field", "value", "coerce", "code"),
    [
        ("count", 2**64, False, "integer_range"),
        ("count", 2**63, False, "integer_range"),
        ("count", -(2**63) - 1, False, "integer_range"),
        ("count", 1e300, False, "integer_range"),
        ("count", -9.223372036854776e18, False, "integer_range"),  # how orjson reads -2**63-1
        ("count", "9223372036854775808", True, "integer_range"),
        ("count", "9" * 5000, True, "integer_range"),  # Python refuses to parse it at all
        ("count", float("nan"), False, "integer"),
        ("count", float("inf"), False, "integer"),
        ("amount", float("inf"), False, "decimal_range"),
        ("amount", float("-inf"), False, "decimal_range"),
        ("amount", float("nan"), False, "decimal_range"),
        ("amount", 2**64, False, "decimal_range"),
        ("amount", Decimal("NaN"), False, "decimal"),
        ("amount", Decimal("1e400"), False, "decimal_range"),
        ("amount", "1e400", False, "decimal_range"),
        ("amount", "NaN", True, "decimal"),
        ("amount", "Infinity", True, "decimal"),
        ("company", "4000\x003000000", False, "nul_character"),
        ("members", [{"personal_code": PC, "role": "a\x00"}], False, "nul_character"),
    ],
)
def test_values_the_databases_cannot_store_are_per_record_errors(field, value, coerce, code):
    out, errors = validate({"personal_code": PC, field: value}, coerce=coerce)
    assert out is None
    assert [c for _f, c in errors] == [code]


def test_the_64_bit_limits_are_valid_and_the_range_is_in_the_message():
    for number in (2**63 - 1, -(2**63)):
        assert validate({"personal_code": PC, "count": number})[0]["count"] == number
    assert validate({"personal_code": PC, "amount": "0E+1000"})[0]["amount"] == 0
    _out, errors = compile_validator(TYPED)({"personal_code": PC, "count": 2**64})
    assert "-9223372036854775808" in errors[0].message
    assert "9223372036854775807" in errors[0].message
