"""Schema import and export as YAML."""

from __future__ import annotations

import pytest

from dagr.catalog import services
from dagr.catalog.schema import parse_schema
from dagr.core.errors import ValidationError
from tests.factories import PERSON_SCHEMA

NESTED = {
    "key": "reg_no",
    "fields": [
        {
            "name": "reg_no",
            "title_lv": "Reģistrācijas numurs",
            "title_en": "Registration number",
            "type": "string",
            "required": True,
            "identifier": "company_code",
            "description_lv": "Divas rindas:\notrā rinda",
        },
        {
            "name": "board",
            "title_lv": "Valde",
            "title_en": "Board",
            "type": "list",
            "fields": [
                {
                    "name": "personal_code",
                    "title_lv": "Personas kods",
                    "title_en": "Personal code",
                    "type": "string",
                    "personal": True,
                    "identifier": "personal_code",
                }
            ],
        },
    ],
}


@pytest.mark.parametrize("document", [PERSON_SCHEMA, NESTED])
def test_round_trip_keeps_the_document(document):
    text = services.schema_to_yaml(parse_schema(document))
    assert text.startswith("key: ")
    assert parse_schema(services.schema_from_yaml(text)).as_document() == (
        parse_schema(document).as_document()
    )


def test_export_keeps_latvian_letters_and_multiline_text_readable():
    text = services.schema_to_yaml(NESTED)
    assert "Reģistrācijas numurs" in text
    assert "description_lv: |-" in text
    assert text.index("key:") < text.index("fields:")


def test_bytes_with_a_bom_are_read():
    text = services.schema_to_yaml(PERSON_SCHEMA)
    assert services.schema_from_yaml(b"\xef\xbb\xbf" + text.encode())["key"] == "personal_code"


def test_bad_yaml_reports_line_and_column():
    text = "key: id\nfields:\n  - name: id\n    title_lv: [unclosed\n"
    with pytest.raises(ValidationError) as caught:
        services.schema_from_yaml(text)
    error = caught.value.errors[0]
    assert caught.value.code == "invalid_yaml"
    assert (error["line"], error["column"]) == (5, 1)
    assert "line 5, column 1" in str(caught.value.message)


def test_tabs_are_a_yaml_error_with_a_location():
    with pytest.raises(ValidationError) as caught:
        services.schema_from_yaml("key: id\nfields:\n\t- name: id\n")
    assert caught.value.errors[0]["line"] == 3


@pytest.mark.parametrize("text", ["", "   \n", "- just\n- a list\n", "plain text"])
def test_yaml_that_is_not_a_mapping_is_refused(text):
    with pytest.raises(ValidationError) as caught:
        services.schema_from_yaml(text)
    assert caught.value.code in {"invalid_yaml", "invalid_schema"}
    assert caught.value.errors


def test_unsafe_yaml_tags_are_refused():
    with pytest.raises(ValidationError) as caught:
        services.schema_from_yaml("key: !!python/object/apply:os.system ['true']\nfields: []\n")
    assert caught.value.code == "invalid_yaml"


def test_size_limit(settings):
    settings.DAGR_SCHEMA_UPLOAD_MAX_BYTES = 100
    with pytest.raises(ValidationError) as caught:
        services.schema_from_yaml("key: id\n" + "#" * 200)
    assert caught.value.code == "schema_too_large"


def test_non_utf8_bytes_are_refused():
    with pytest.raises(ValidationError) as caught:
        services.schema_from_yaml("key: Ā".encode("utf-16"))
    assert caught.value.code == "invalid_yaml"


def test_schema_errors_carry_the_line_of_the_yaml_node():
    text = services.schema_to_yaml(PERSON_SCHEMA).replace("type: date", "type: when")
    with pytest.raises(ValidationError) as caught:
        services.schema_parse_yaml(text)
    error = caught.value.errors[0]
    assert error["location"] == "fields.2.type"
    assert text.splitlines()[error["line"] - 1].strip() == "type: when"


def test_missing_settings_point_at_the_nearest_parent_line():
    text = "key: id\nfields:\n- name: id\n  type: string\n"
    with pytest.raises(ValidationError) as caught:
        services.schema_parse_yaml(text)
    lines = {e["location"]: e.get("line") for e in caught.value.errors}
    assert lines["fields.0.title_lv"] == 3
