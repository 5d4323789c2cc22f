"""Default rules inferred from the schema, and rule validation."""

from __future__ import annotations

from typing import Any

from django.utils import translation

from dagr.anonymisation.rules import (
    RULE_KINDS,
    Rule,
    default_rules,
    generator_labels,
    rule_kind_labels,
    validate_rules,
)
from dagr.catalog.schema import SchemaDef, parse_schema
from dagr.demo import schemas


def _field(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title_lv": name, "title_en": name, "type": type_, **extra}


SCHEMA = parse_schema(
    {
        "key": "personas_kods",
        "fields": [
            _field("personas_kods", required=True, personal=True, identifier="personal_code"),
            _field("vards", required=True, personal=True),
            _field("uzvards", required=True, personal=True),
            _field("dzimums", personal=True),
            _field("dzimsanas_datums", "date", personal=True),
            _field("miršanas_datums".replace("š", "s"), "date", personal=True),
            _field("e_pasts", personal=True),
            _field("talrunis", personal=True),
            _field("konts", personal=True),
            _field("pvn", personal=True),
            _field("pasta_indekss", personal=True),
            _field("ienakumi", "decimal", personal=True),
            _field("piezimes", personal=True),
            _field("segvards", required=True, personal=True),
            _field("adrese", personal=True, identifier="address_code"),
            _field("darba_adrese", identifier="address_code"),
            _field("statuss"),
            _field(
                "uznemumi",
                "list",
                fields=[
                    _field("registracijas_numurs", required=True, identifier="company_code"),
                    _field("amats"),
                    _field("first_name", personal=True),
                ],
            ),
        ],
    }
)


def test_defaults_cover_every_field_and_follow_the_hints() -> None:
    rules = default_rules(SCHEMA)
    expected = {
        "personas_kods": ("pseudonymise", {}),
        "vards": ("fake", {"generator": "first_name"}),
        "uzvards": ("fake", {"generator": "last_name"}),
        "dzimums": ("fake", {"generator": "gender"}),
        "dzimsanas_datums": ("date_shift", {"within": "month"}),
        "mirsanas_datums": ("generalise", {"level": "month"}),
        "e_pasts": ("fake", {"generator": "email"}),
        "talrunis": ("fake", {"generator": "phone"}),
        "konts": ("pseudonymise", {"generator": "iban"}),
        "pvn": ("pseudonymise", {"generator": "vat"}),
        "pasta_indekss": ("pseudonymise", {"generator": "postcode"}),
        "ienakumi": ("generalise", {"band": 10}),
        "piezimes": ("null", {}),
        "segvards": ("mask", {}),
        "adrese": ("pseudonymise", {}),
        "darba_adrese": ("keep", {}),
        "statuss": ("keep", {}),
        "uznemumi.registracijas_numurs": ("pseudonymise", {}),
        "uznemumi.amats": ("keep", {}),
        "uznemumi.first_name": ("fake", {"generator": "first_name"}),
    }
    assert {p: (r.kind, r.params) for p, r in rules.items()} == expected
    assert validate_rules(SCHEMA, rules) == []


def test_demo_defaults_are_valid() -> None:
    for dataset in schemas.DATASETS:
        schema = parse_schema(dataset["schema"])
        assert validate_rules(schema, default_rules(schema)) == []


def _codes(schema: SchemaDef, changes: dict[str, Rule]) -> dict[str, str]:
    rules = default_rules(schema) | changes
    return {p.path: p.code for p in validate_rules(schema, rules)}


def test_validation_refuses_leaking_and_schema_breaking_rules() -> None:
    assert _codes(
        SCHEMA,
        {
            "vards": Rule(kind="keep"),
            "uzvards": Rule(kind="null"),
            "personas_kods": Rule(kind="mask"),
            "uznemumi.registracijas_numurs": Rule(kind="generalise"),
            "statuss": Rule(kind="generalise", params={"level": "month"}),
            "ienakumi": Rule(kind="constant", params={"value": "daudz"}),
            "dzimsanas_datums": Rule(kind="generalise", params={"level": "week"}),
            "piezimes": Rule(kind="mask", params={"keep_start": 6}),
            "talrunis": Rule(kind="fake", params={"generator": "spaceship"}),
            "konts": Rule(kind="pseudonymise", params={"generator": "iban", "x": 1}),
            "dzimums": Rule(kind="date_shift"),
            "nav_tada": Rule(kind="keep"),
            "uznemumi": Rule(kind="null"),
        },
    ) == {
        "vards": "keep_personal",
        "uzvards": "null_required",
        "personas_kods": "identifier_rule",
        "uznemumi.registracijas_numurs": "identifier_rule",
        "statuss": "generalise_type",
        "ienakumi": "constant_type",
        "dzimsanas_datums": "bad_level",
        "piezimes": "bad_mask",
        "talrunis": "bad_generator",
        "konts": "unknown_param",
        "dzimums": "shift_type",
        "nav_tada": "unknown_field",
        "uznemumi": "list_field",
    }
    rules = default_rules(SCHEMA)
    del rules["statuss"]
    assert [(p.path, p.code) for p in validate_rules(SCHEMA, rules)] == [
        ("statuss", "missing_rule")
    ]
    assert _codes(SCHEMA, {"ienakumi": Rule(kind="constant", params={"value": 12.5})}) == {}


def test_messages_and_labels_are_in_latvian_and_english() -> None:
    rules = default_rules(SCHEMA) | {"vards": Rule(kind="keep")}
    with translation.override("lv"):
        lv = validate_rules(SCHEMA, rules)[0].message
        lv_labels = {k: str(v) for k, v in rule_kind_labels().items()}
    with translation.override("en"):
        en = validate_rules(SCHEMA, rules)[0].message
        en_labels = {k: str(v) for k, v in rule_kind_labels().items()}
    assert lv != en and "personal data" in en
    assert set(lv_labels) == set(en_labels) == set(RULE_KINDS)
    assert lv_labels["keep"] != en_labels["keep"]
    assert set(generator_labels()) >= {"first_name", "email", "iban"}
