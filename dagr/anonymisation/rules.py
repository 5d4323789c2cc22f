"""Per-field anonymisation rules, with defaults inferred from the dataset schema.

A rule set maps a field path (``personal_code``, ``board_members.personal_code``) to a ``Rule``.
Kinds: ``keep`` (non-personal fields only), ``pseudonymise`` (keyed, valid value of the same
identifier kind), ``fake`` (names, e-mails, phones, …), ``generalise`` (date → month/year,
number → band), ``date_shift`` (per-person), ``mask``, ``null``, ``constant``.

Defaults (``default_rules``), decided per field from its type, ``personal`` flag, identifier
kind and name (Latvian or English hints):

- personal-code and company-number identifiers → ``pseudonymise`` (a bijection onto valid codes);
- address-code identifiers → ``pseudonymise`` (another existing code of the same parent) when the
  field is personal (where a person lives), ``keep`` otherwise (the address register is public);
- personal names (first_name/vards, last_name/uzvards, name) → ``fake`` (gender-consistent, the
  same fake name for the same person in every dataset); gender/dzimums → ``fake`` with the
  ``gender`` generator, which keeps the gender (the fake names must agree with it; it is a
  quasi-identifier that the k-anonymity check controls);
- e-mail/e_pasts, phone/talrunis/telefons → ``fake``; iban/konts, vat/pvn, postcode/
  pasta_indekss → ``pseudonymise`` with a generator of a valid value;
- the birth date of a person → ``date_shift`` inside the month (consistent with the new
  personal code); other personal dates → ``generalise`` to the month; personal numbers →
  ``generalise`` to a band of 10;
- other personal strings → ``null`` when optional, ``mask`` when required;
- everything not personal → ``keep``.

Params: fake → ``{"generator": "first_name"|"last_name"|"full_name"|"gender"|"email"|"phone"}``;
pseudonymise → ``{}`` for identifiers or ``{"generator": "iban"|"vat"|"postcode"|"phone"|
"string"}``; generalise → ``{"level": "month"|"year"}`` (dates) or ``{"band": 10}`` (numbers);
date_shift → ``{"within": "month"}`` or ``{"days": 30}``; mask → ``{"keep_start": 0,
"keep_end": 0}`` (at most 5 each, so no 6-character piece survives); constant → ``{"value": …}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict

from dagr.catalog.schema import FieldDef, SchemaDef, compile_validator

RuleKind = Literal[
    "keep", "pseudonymise", "fake", "generalise", "date_shift", "mask", "null", "constant"
]
RULE_KINDS: tuple[str, ...] = get_args(RuleKind)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: RuleKind
    # kind-specific settings: fake → {"generator": "first_name"|…}; generalise →
    # {"level": "month"|"year"} or {"band": 10}; mask → {"keep_start": 0, "keep_end": 0};
    # constant → {"value": …}
    params: dict[str, Any] = {}


RuleSet = dict[str, Rule]

FAKE_GENERATORS = ("first_name", "last_name", "full_name", "gender", "email", "phone")
PSEUDONYM_GENERATORS = ("iban", "vat", "postcode", "phone", "string")
MASK_MAX_KEPT = 5


def rule_kind_labels() -> dict[str, Promise]:
    """Human labels of the rule kinds (lv/en through gettext), for the portal."""
    return {
        "keep": _("keep as is"),
        "pseudonymise": _("pseudonymise (a valid value of the same kind)"),
        "fake": _("replace with a realistic fake"),
        "generalise": _("generalise"),
        "date_shift": _("shift the date per person"),
        "mask": _("mask with asterisks"),
        "null": _("leave empty"),
        "constant": _("replace with a constant"),
    }


def generator_labels() -> dict[str, Promise]:
    """Human labels of the generators a ``fake``/``pseudonymise`` rule can name."""
    return {
        "first_name": _("first name"),
        "last_name": _("last name"),
        "full_name": _("full name"),
        "gender": _("gender (kept, consistent with the fake names)"),
        "email": _("e-mail address"),
        "phone": _("phone number"),
        "iban": _("IBAN"),
        "vat": _("VAT number"),
        "postcode": _("postcode"),
        "string": _("text of the same shape"),
    }


# --- defaults ------------------------------------------------------------------------------------

_HINTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    # (name hints, kind, generator) — checked in order against the field name's parts
    (("first_name", "vards", "given_name", "firstname"), "fake", "first_name"),
    (("last_name", "uzvards", "surname", "family_name", "lastname"), "fake", "last_name"),
    (("full_name", "vards_uzvards", "name", "nosaukums_persona"), "fake", "full_name"),
    (("gender", "dzimums", "sex"), "fake", "gender"),
    (("email", "e_pasts", "epasts", "e_mail", "mail"), "fake", "email"),
    (("phone", "talrunis", "telefons", "telephone", "mobile", "mobilais"), "fake", "phone"),
    (("iban", "konts", "account", "bank_account"), "pseudonymise", "iban"),
    (("vat", "pvn", "vat_number", "pvn_numurs"), "pseudonymise", "vat"),
    (("postcode", "pasta_indekss", "postal_code", "zip", "indekss"), "pseudonymise", "postcode"),
)
_BIRTH_HINTS = ("birth_date", "dzimsanas_datums", "date_of_birth", "birthdate", "dzimis")


def name_hint(name: str) -> tuple[str, str] | None:
    """``(kind, generator)`` suggested by a field's name, or None."""
    lowered = name.lower()
    for hints, kind, generator in _HINTS:
        for hint in hints:
            if lowered == hint or lowered.endswith("_" + hint) or lowered.startswith(hint + "_"):
                return kind, generator
    return None


def is_birth_date(name: str) -> bool:
    lowered = name.lower()
    return any(hint in lowered for hint in _BIRTH_HINTS)


def default_rule(f: FieldDef) -> Rule:
    """The default rule of one (scalar) field — see the module docstring."""
    if f.identifier in ("personal_code", "company_code"):
        return Rule(kind="pseudonymise")
    if f.identifier == "address_code":
        return Rule(kind="pseudonymise") if f.personal else Rule(kind="keep")
    if not f.personal:
        return Rule(kind="keep")
    if f.identifier == "other":
        return Rule(kind="pseudonymise", params={"generator": "string"})
    if f.type in ("date", "datetime"):
        if f.type == "date" and is_birth_date(f.name):
            return Rule(kind="date_shift", params={"within": "month"})
        return Rule(kind="generalise", params={"level": "month"})
    if f.type in ("integer", "decimal"):
        return Rule(kind="generalise", params={"band": 10})
    if f.type == "boolean":
        return Rule(kind="constant", params={"value": False}) if f.required else Rule(kind="null")
    hint = name_hint(f.name)
    if hint is not None:
        kind, generator = hint
        return Rule(kind=kind, params={"generator": generator})  # type: ignore[arg-type]
    return Rule(kind="mask") if f.required else Rule(kind="null")


def default_rules(schema: SchemaDef) -> RuleSet:
    """A rule for every scalar field path of ``schema`` (nested list fields as ``list.field``)."""
    return {path: default_rule(f) for path, f in schema.field_paths() if f.type != "list"}


# --- validation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleProblem:
    path: str
    code: str
    message: str  # in the active language (Latvian or English)

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


_PARAMS: dict[str, frozenset[str]] = {
    "keep": frozenset(),
    "pseudonymise": frozenset({"generator"}),
    "fake": frozenset({"generator"}),
    "generalise": frozenset({"level", "band"}),
    "date_shift": frozenset({"within", "days"}),
    "mask": frozenset({"keep_start", "keep_end"}),
    "null": frozenset(),
    "constant": frozenset({"value"}),
}


def validate_rules(schema: SchemaDef, rules: RuleSet) -> list[RuleProblem]:
    """Every problem of ``rules`` for ``schema``: unknown paths, fields without a rule, and
    rules that would leak or break the schema (keep on personal data, null on a required field,
    mask/generalise/constant on an identifier, a constant of the wrong type, generalise on a
    field that is no date or number, …)."""
    problems: list[RuleProblem] = []

    def add(where: str, code: str, message: Any, **params: Any) -> None:
        text = str(message)
        problems.append(RuleProblem(where, code, text % params if params else text))

    fields = dict(schema.field_paths())
    for path in rules:
        f = fields.get(path)
        if f is None:
            add(path, "unknown_field", _("there is no field '%(path)s' in the schema"), path=path)
        elif f.type == "list":
            add(path, "list_field", _("rules apply to the fields inside a list, not to the list"))
    for path, f in fields.items():
        if f.type == "list":
            continue
        rule = rules.get(path)
        if rule is None:
            add(path, "missing_rule", _("this field has no rule"))
            continue
        _check_rule(schema, path, f, rule, add)
    return problems


def _check_rule(schema: SchemaDef, path: str, f: FieldDef, rule: Rule, add: Any) -> None:
    kind = rule.kind
    params = rule.params
    unknown = set(params) - _PARAMS[kind]
    if unknown:
        add(
            path, "unknown_param", _("unknown setting: %(names)s"), names=", ".join(sorted(unknown))
        )
    if kind == "keep" and f.personal:
        add(path, "keep_personal", _("personal data cannot be kept as is; choose another rule"))
    if kind == "null" and f.required:
        add(path, "null_required", _("a required field cannot be left empty"))
    if f.identifier and kind in ("mask", "generalise", "constant", "date_shift", "fake"):
        add(
            path,
            "identifier_rule",
            _("an identifier field can only be kept (if not personal), pseudonymised or emptied"),
        )
        return
    if kind == "generalise":
        if f.type in ("date", "datetime"):
            if params.get("level", "month") not in ("month", "year"):
                add(path, "bad_level", _("a date is generalised to a month or a year"))
            if "band" in params:
                add(path, "bad_band", _("a band applies to numbers, not dates"))
        elif f.type in ("integer", "decimal"):
            band = params.get("band", 10)
            if not isinstance(band, int | float) or isinstance(band, bool) or band <= 0:
                add(path, "bad_band", _("the band must be a positive number"))
            if "level" in params:
                add(path, "bad_level", _("a level applies to dates, not numbers"))
        else:
            add(path, "generalise_type", _("only dates and numbers can be generalised"))
    elif kind == "date_shift":
        if f.type not in ("date", "datetime"):
            add(path, "shift_type", _("only dates can be shifted"))
        within = params.get("within")
        days = params.get("days")
        if within is not None and within != "month":
            add(path, "bad_shift", _("a date is shifted within its month or by a number of days"))
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
            add(path, "bad_shift", _("the number of days must be a whole number of at least 1"))
    elif kind == "fake":
        generator = params.get("generator")
        if generator not in FAKE_GENERATORS:
            add(
                path,
                "bad_generator",
                _("choose one of the generators: %(names)s"),
                names=", ".join(FAKE_GENERATORS),
            )
        if f.type != "string":
            add(path, "fake_type", _("only text fields can be replaced with fakes"))
    elif kind == "pseudonymise":
        generator = params.get("generator")
        if f.identifier:
            if generator is not None:
                add(path, "bad_generator", _("an identifier is pseudonymised by its own kind"))
        elif generator not in PSEUDONYM_GENERATORS:
            add(
                path,
                "bad_generator",
                _("choose one of the generators: %(names)s"),
                names=", ".join(PSEUDONYM_GENERATORS),
            )
        elif f.type != "string":
            add(path, "pseudonymise_type", _("only text fields can be pseudonymised"))
    elif kind == "mask":
        if f.type != "string":
            add(path, "mask_type", _("only text fields can be masked"))
        for name in ("keep_start", "keep_end"):
            value = params.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                add(path, "bad_mask", _("the number of kept characters must be 0 or more"))
            elif f.personal and value > MASK_MAX_KEPT:
                add(
                    path,
                    "bad_mask",
                    _("at most %(n)s characters of personal data may be kept at each end"),
                    n=MASK_MAX_KEPT,
                )
    elif kind == "constant":
        if "value" not in params:
            add(path, "constant_missing", _("the constant needs a value"))
        else:
            value = params["value"]
            if value is None:
                if f.required:
                    add(path, "null_required", _("a required field cannot be left empty"))
            elif not _fits(f, value):
                add(path, "constant_type", _("the constant is not a valid value of this field"))


def _fits(f: FieldDef, value: Any) -> bool:
    single = SchemaDef.model_validate(
        {
            "key": "k",
            "fields": [
                {
                    "name": "k",
                    "title_lv": "k",
                    "title_en": "k",
                    "type": "string",
                    "required": True,
                    "identifier": "other",
                },
                {"name": "v", "title_lv": "v", "title_en": "v", "type": f.type, "required": True},
            ],
        }
    )
    _out, errors = compile_validator(single)({"k": "x", "v": value})
    return not errors
