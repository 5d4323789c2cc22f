"""The release engine: turns the records of one or more datasets into anonymised records with the
same schema, streaming (never holding a dataset), and computes the privacy report.

Contract (the app's services call exactly this; the engine knows nothing of models or storage):

- ``ReleaseSpec``: the release key (32 random bytes, one per release, never stored), the
  datasets in the order they are processed, each with its schema, its rules and a factory of
  its source records; the address register (for address codes); the privacy settings.
- ``build_release(spec, sink, progress)``: for each dataset, for each source record, calls
  ``sink(dataset_code, anonymised_record)``; calls ``progress(done)`` every few thousand
  records; returns the ``PrivacyReport``. It does not decide about publishing: the caller
  publishes only when ``report.passed``. Invalid rules (``rules.validate_rules``) raise
  ``dagr.core.errors.ValidationError`` (code ``invalid_rules``, one error per problem with
  ``dataset``, ``path``, ``code``, ``message``) before anything is written.

Everything here is a pure function of the key and the input: the same key and input give the
same output, in every dataset of the release (joins survive), and another key gives unlinkable
output.

How: for each dataset a transformation plan is compiled once from its schema and rules (like
``catalog.schema.compile_validator``): one closure per field, and one Python function per object
level generated from the rules (source text built from fixed lines and the fields' names as
literals, then ``compile``d): what each field's rule asks of the leak proof (original collected,
output plain or derived) is decided when the function is generated, not tested per value; nested
lists are handled by the inner object's function — no per-record reflection
(docs/anonymisation-performance.md). The
generators (``values.py``) are keyed per kind and seeded by the VALUE (identifiers) or by the
PERSON (names, date shifts: the personal-code identifier of the same object, else the record
key), so the same person gets the same code, the same fake name and the same birth date in
every dataset. Source records are expected in their stored (validated, normalised) form.

Two passes: before the first output, a cheap pre-pass reads only the personal codes and company
numbers of every dataset of the release (``_prepare_codes``; 8 bytes an occurrence, sorted
without repeats in flat memory) and fixes the tables of ``values.PersonalCodes``/``CompanyCodes``
so that no output code is an original code of its kind (24 bytes an original code — with the
address register, the proof's hash arrays and the k-anonymity classes, what grows with N). The
second pass streams the records through the plan; a pseudonymised code is then a table lookup.
"""

from __future__ import annotations

import calendar
import contextlib
import gc
import multiprocessing
import re
import signal
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from dagr.catalog.schema import FieldDef, SchemaDef
from dagr.core import identifiers
from dagr.core.errors import ValidationError

from .privacy import LISTS, Auditor, default_quasi_identifiers
from .rules import Rule, RuleSet, validate_rules
from .spec import (
    DatasetInput,
    PrivacyReport,
    PrivacySettings,
    QuasiIdentifier,
    Record,
    ReleaseSpec,
)
from .values import (
    CENTURY,
    NAME_LISTS,
    AddressRegister,
    CompanyCodes,
    Keyring,
    Mac,
    Mapper,
    Names,
    PersonalCodes,
    Values,
    choose_name,
    gender_of,
)

__all__ = [
    "DatasetInput",
    "PrivacyReport",
    "PrivacySettings",
    "QuasiIdentifier",
    "Record",
    "ReleaseSpec",
    "build_release",
    "default_quasi_identifiers",
]

PROGRESS_EVERY = 5000
_DROP = object()

# rule kinds whose output is the original (or a non-identifying function of it): their
# originals are not checked for 6-character pieces
_PRESERVING = {"keep", "generalise", "date_shift"}
_VOCABULARY = {"first_name", "last_name", "full_name", "gender"}


class _Release:
    """The keyed generators and counters of one release."""

    def __init__(
        self,
        keys: Keyring,
        register: AddressRegister,
        personal: PersonalCodes,
        companies: CompanyCodes,
    ) -> None:
        self.keys = keys
        self.personal = personal  # prepared (``_prepare_codes``)
        self.companies = companies
        self.names = Names(self.keys)
        self.values = Values(self.keys, self.personal, self.companies)
        self.register = register
        self.shift_key = self.keys.sub("date_shift")


class _Obj:
    """What the field closures of one object share: the person it is about."""

    __slots__ = (
        "_first",
        "_gender",
        "_last",
        "_person",
        "gender_field",
        "name_field",
        "obj",
        "pc",
        "seed",
    )

    def __init__(
        self,
        obj: dict[str, Any],
        seed: str,
        pc: str | None,
        gender_field: str | None,
        name_field: str | None,
    ) -> None:
        self.obj = obj
        self.seed = seed
        self.pc = pc  # the original personal code of the object's person, if any
        self.gender_field = gender_field
        self.name_field = name_field
        self._gender: str | None = None
        self._person: bytes | None = None
        self._first: str | None = None
        self._last: str | None = None


def _compile_object(
    fields: list[FieldDef],
    prefix: str,
    rules: RuleSet,
    rel: _Release,
    stats: dict[str, list[Any]],
    auditor: Auditor,
    used: set[str],
) -> Callable[[dict[str, Any], str, list[Any]], dict[str, Any]]:
    """The plan of one object level: ``transform(obj, record_key, acc) -> out``; ``acc`` holds
    the leak-proof lists of the record (originals, pairs, plain, derived, global originals,
    names); ``used`` gets the names of the lists this level can fill."""
    person_field = next((f.name for f in fields if f.identifier == "personal_code"), None)
    # the values of a field = the objects of its level - the objects where it is missing: one
    # count an object instead of one a value
    objects = [0]

    def _named(generator: str) -> str | None:
        return next(
            (
                f.name
                for f in fields
                if f.type == "string"
                and (r := rules.get(f"{prefix}{f.name}")) is not None
                and r.kind == "fake"
                and r.params.get("generator") == generator
            ),
            None,
        )

    first_name_field, last_name_field, full_name_field = (
        _named("first_name"),
        _named("last_name"),
        _named("full_name"),
    )
    gender_field = next(
        (
            f.name
            for f in fields
            if rules.get(f"{prefix}{f.name}", Rule(kind="keep")).params.get("generator") == "gender"
        ),
        None,
    )
    first_field = next(
        (
            f.name
            for f in fields
            if rules.get(f"{prefix}{f.name}", Rule(kind="keep")).params.get("generator")
            in ("first_name", "full_name")
        ),
        None,
    )

    # the generated function's globals: the field closures, counters and shared objects
    # one _Obj per object level, reset for each object (the objects of a level are transformed
    # one after the other; a nested level has its own)
    ns: dict[str, Any] = {"o": _Obj({}, "", None, gender_field, first_field), "objects": objects}
    ns.update(DROP=_DROP, derived_hash=auditor.derived_hashes.append)
    body: list[str] = []
    for i, f in enumerate(fields):
        path = f"{prefix}{f.name}"
        counter = stats.setdefault(path, [0, objects])  # [missing, objects of the level]
        ns[f"c{i}"] = counter
        body += [f"    v = obj_get({f.name!r})", "    if v is None:", f"        c{i}[0] += 1"]
        body.append("    else:")
        if f.type == "list":
            assert f.fields is not None
            ns[f"f{i}"] = _compile_object(f.fields, f"{path}.", rules, rel, stats, auditor, used)
            body.append(f"        out[{f.name!r}] = [f{i}(item, record_key, acc) for item in v]")
            continue
        rule = rules[path]
        fn, flags = _field_fn(f, rule, rel, auditor)
        body += [f"        {line}" for line in _field_source(f, rule, fn, flags, i, rel, ns)]
    head = ["def transform(obj, record_key, acc):", "    obj_get = obj.get"]
    if person_field:
        head.append(f"    pc = obj_get({person_field!r})")
    else:
        head.append("    pc = None")
    head += [
        "    o.obj = obj",
        "    objects[0] += 1",
        "    if pc is None:",
        "        o.seed, o.pc = record_key, None",
        "    else:",
        "        o.seed = o.pc = pc if type(pc) is str else str(pc)",
        "    o._gender = o._person = o._first = o._last = None",
        "    out = {}",
        "    originals, pairs, plain, derived, global_originals, names = acc",
    ]
    if first_name_field is not None and last_name_field is not None:
        head += [
            f"    first, last = obj_get({first_name_field!r}), obj_get({last_name_field!r})",
            "    if first and last:",
            "        names.append((str(first), str(last)))",
        ]
    if full_name_field is not None:
        head += [
            f"    full = obj_get({full_name_field!r})",
            "    if full:",
            "        parts = str(full).split()",
            "        if len(parts) > 1:",
            "            names.append((parts[0], parts[-1]))",
        ]
    source = "\n".join([*head, *body, "    return out", ""])
    # the lists the leak proof of this plan needs to look at: those its source appends to
    used.update(name for name in LISTS if f" {name}.append(" in source)
    # the source is built here from field names (as repr literals) and fixed lines only
    exec(compile(source, f"<anonymisation plan {prefix or 'record'}>", "exec"), ns)  # noqa: S102
    transform: Callable[[dict[str, Any], str, list[Any]], dict[str, Any]] = ns["transform"]
    return transform


def _field_source(
    f: FieldDef,
    rule: Rule,
    fn: Callable[[Any, _Obj], Any],
    flags: int,
    i: int,
    rel: _Release,
    ns: dict[str, Any],
) -> list[str]:
    """The generated lines of one non-list field (``v`` its value, not None; ``o`` the
    object's shared state): what ``flags`` ask, decided here once instead of per value."""
    name = repr(f.name)
    if flags & _F_KEEP:  # kept as it is (the usual non-personal field)
        kept = [f"out[{name}] = v"]
        if flags & _F_PLAIN:
            kept += ["if type(v) is str:", "    plain.append(v)"]
        return kept
    kind, generator = rule.kind, rule.params.get("generator")
    as_text = "v if type(v) is str else str(v)"
    lines: list[str]
    if kind == "keep" or (kind == "fake" and generator == "gender"):
        lines = ["r = v"]
    elif kind == "null":
        lines = []
    elif kind == "pseudonymise" and f.type == "string" and f.identifier in _INLINE_CODES:
        ns[f"p{i}"] = _INLINE_CODES[f.identifier](rel)
        lines = [f"r = p{i}({as_text})"]
    else:
        ns[f"f{i}"] = fn
        lines = [f"r = f{i}(v, o)"]
    if flags & _F_ORIGINAL_OR_GLOBAL:
        lines.append(f"t = {as_text}")
        if flags & _F_ORIGINAL:
            lines.append("originals.append(t)")
        if flags & _F_GLOBAL:
            lines.append("global_originals.append(t)")
    if kind == "null":
        return lines or ["pass"]
    tail = [f"out[{name}] = r"]
    if flags & _F_DERIVED:
        tail.append("derived.append(r)")
        if flags & _F_IDENTIFIER:
            # a code of the bijections: no 6-character piece of its own original by
            # construction (values.py), so not compared with it here; its whole value is
            # looked up among the originals (privacy.py (a))
            tail.append("derived_hash(hash(r))")
        else:
            original = "t" if flags & _F_ORIGINAL_OR_GLOBAL else f"({as_text})"
            tail.append(f"pairs.append(({original}, r))")
    elif flags & _F_PLAIN:
        tail += ["if type(r) is str:", "    plain.append(r)"]
    if kind in _NEVER_DROPS:
        return lines + tail
    return [*lines, "if r is not DROP:", *(f"    {line}" for line in tail)]


# the rule kinds whose closure never returns _DROP (others: null, a constant None)
_NEVER_DROPS = {"keep", "pseudonymise", "fake", "generalise", "date_shift", "mask"}
# pseudonymised codes of a string field: the generator's method called directly
_INLINE_CODES: dict[str, Callable[[_Release], Callable[[str], str]]] = {
    "personal_code": lambda rel: rel.personal.pseudonymise,
    "company_code": lambda rel: rel.companies.pseudonymise,
    "address_code": lambda rel: rel.register.replace,
}


_F_ORIGINAL = 1  # the original is checked for 6-character pieces in the record's output
_F_GLOBAL = 2  # the original goes into the global set
_F_DERIVED = 4  # the output is derived from the original by a keyed generator
_F_PLAIN = 8  # the output is a plain cell (checked against every original)
_F_IDENTIFIER = 16  # a derived personal/company code (a global equality is a leak)
_F_KEEP = 32  # the rule is keep and the original is not collected: copied without a call
_F_ORIGINAL_OR_GLOBAL = _F_ORIGINAL | _F_GLOBAL


def _gender(o: _Obj) -> str:
    if o._gender is None:
        g = o.obj.get(o.gender_field) if o.gender_field else None
        first = o.obj.get(o.name_field) if o.name_field else None
        o._gender = gender_of(g, first)
    return o._gender


def _person(o: _Obj, rel: _Release) -> bytes:
    """The person's keyed bytes (one HMAC a person for names and the birth-date shift)."""
    if o._person is None:
        o._person = rel.names.person(o.seed)
    return o._person


def _fake_name(part: str, rel: _Release) -> Callable[[Any, _Obj], Any]:
    """The field function of a fake first (``part`` "first") or last name: ``Names.name`` of
    the object's person, once an object, in one call a value (the person's keyed bytes and
    gender looked up in place, the name chosen by ``values.choose_name``)."""
    person = rel.names.person
    lists = {g: NAME_LISTS[(part, g)] for g in ("m", "f")}
    start = 0 if part == "first" else 8

    def chosen(v: Any, o: _Obj) -> str:
        raw = o._person
        if raw is None:
            raw = o._person = person(o.seed)
        gender = o._gender
        if gender is None:
            gender = _gender(o)
        return choose_name(lists[gender], v, int.from_bytes(raw[start : start + 8], "big"))

    # one function a part, each keeping its name on the object (once an object)
    def first(v: Any, o: _Obj) -> Any:
        if o._first is None:
            o._first = chosen(v, o)
        return o._first

    def last(v: Any, o: _Obj) -> Any:
        if o._last is None:
            o._last = chosen(v, o)
        return o._last

    return first if part == "first" else last


def _field_fn(
    f: FieldDef, rule: Rule, rel: _Release, auditor: Auditor
) -> tuple[Callable[[Any, _Obj], Any], int]:
    kind = rule.kind
    params = rule.params
    personal = f.personal
    is_code = f.identifier in ("personal_code", "company_code")
    is_address = f.identifier == "address_code"
    as_int = f.type == "integer"
    generator = params.get("generator")

    flags = 0
    if is_code:
        flags |= _F_ORIGINAL | _F_GLOBAL
    elif personal and f.type == "string" and not is_address:
        preserving = kind in _PRESERVING or generator == "gender"
        # a person's names are checked as the full name (see privacy.py), not by pieces
        if not preserving and generator not in _VOCABULARY:
            flags |= _F_ORIGINAL
        if kind == "pseudonymise":
            flags |= _F_GLOBAL
    if kind in ("pseudonymise", "fake") and generator != "gender" and not is_address:
        flags |= _F_DERIVED
        if is_code:
            flags |= _F_IDENTIFIER
    elif not is_address:
        flags |= _F_PLAIN

    def typed(out: str) -> Any:
        return int(out) if as_int else out

    if kind == "keep":
        if not flags & _F_ORIGINAL_OR_GLOBAL:
            flags |= _F_KEEP
        return (lambda v, o: v), flags
    if kind == "null":
        return (lambda v, o: _DROP), flags
    if kind == "constant":
        constant = params.get("value")
        if constant is None:
            return (lambda v, o: _DROP), flags
        if isinstance(constant, date | datetime):
            constant = constant.isoformat()
        return (lambda v, o: constant), flags
    if kind == "mask":
        start = int(params.get("keep_start", 0))
        end = int(params.get("keep_end", 0))

        def mask(v: Any, o: _Obj) -> Any:
            text = str(v)
            n = len(text)
            if start + end >= n:
                return "*" * n
            return text[:start] + "*" * (n - start - end) + (text[n - end :] if end else "")

        return mask, flags
    if kind == "generalise":
        if f.type in ("date", "datetime"):
            year_only = params.get("level", "month") == "year"
            tail = "T00:00:00+00:00" if f.type == "datetime" else ""

            def gen_date(v: Any, o: _Obj) -> Any:
                text = str(v)
                return (text[:4] + "-01-01" if year_only else text[:7] + "-01") + tail

            return gen_date, flags
        band = params.get("band", 10)

        def gen_number(v: Any, o: _Obj) -> Any:
            low = (v // band) * band
            return int(low) if f.type == "integer" or (float(low).is_integer() and as_int) else low

        return gen_number, flags
    if kind == "date_shift":
        return _date_shift(f, params, rel), flags
    if kind == "pseudonymise":
        if f.identifier == "personal_code":
            pseudo = rel.personal.pseudonymise
            return (lambda v, o: typed(pseudo(str(v)))), flags
        if f.identifier == "company_code":
            company = rel.companies.pseudonymise
            return (lambda v, o: typed(company(str(v)))), flags
        if is_address:
            replace = rel.register.replace
            return (lambda v, o: typed(replace(str(v)))), flags
        values = rel.values
        make = {
            "iban": values.iban,
            "vat": values.vat,
            "postcode": values.postcode,
            "phone": values.phone,
            "string": values.string,
        }.get(generator or "string", values.string)
        if f.identifier == "other":
            make = values.other_identifier
        return (lambda v, o: typed(make(v))), flags
    if kind == "fake":
        return _fake_fn(generator or "", rel), flags
    raise ValueError(f"unknown rule kind {kind}")


def _fake_fn(generator: str, rel: _Release) -> Callable[[Any, _Obj], Any]:
    if generator == "first_name":
        return _fake_name("first", rel)
    if generator == "last_name":
        return _fake_name("last", rel)
    if generator == "full_name":
        names = rel.names
        return lambda v, o: names.full_name(_gender(o), o.seed, v)
    if generator == "gender":
        return lambda v, o: v
    if generator == "email":
        values = rel.values

        def email(v: Any, o: _Obj) -> Any:
            first = o._first or rel.names.name("first", _gender(o), o.seed, "")
            last = o._last or rel.names.name("last", _gender(o), o.seed, "")
            return values.email(v, first, last)

        return email
    if generator == "phone":
        return lambda v, o: rel.values.phone(v)
    raise ValueError(f"unknown generator {generator}")


def _date_shift(f: FieldDef, params: dict[str, Any], rel: _Release) -> Callable[[Any, _Obj], Any]:
    """Per-person date shift. ``within: month`` (the default, for birth dates): the day moves
    inside its month; when the object's person has an old-format personal code encoding this
    very date, the new date is the one the new code encodes (birth date and code agree).
    ``days: N``: every date of the person moves by the same keyed offset in ±N days (not 0)."""
    days = params.get("days")
    if days:
        span = int(days)
        h64 = Mac(rel.shift_key).h64

        def shift_days(v: Any, o: _Obj) -> Any:
            offset = h64(o.seed) % (2 * span) - span
            offset = offset if offset < 0 else offset + 1
            text = str(v)
            if f.type == "datetime":
                return (datetime.fromisoformat(text) + timedelta(days=offset)).isoformat()
            return (date.fromisoformat(text) + timedelta(days=offset)).isoformat()

        return shift_days

    personal = rel.personal

    def shift_month(v: Any, o: _Obj) -> Any:
        text = v if type(v) is str else str(v)
        day_part = text[:10]
        pc = o.pc
        if pc is not None and len(pc) == 11 and pc[:2] != "32" and pc.isdigit():
            century = CENTURY.get(pc[6])  # the usual codes: the date's text from slices
            if century is not None:
                born = f"{century}{pc[4:6]}-{pc[2:4]}-{pc[:2]}"
            else:
                born = f"{1800 + 100 * int(pc[6]) + int(pc[4:6]):04d}-{pc[2:4]}-{pc[:2]}"
            if born == day_part:
                out = personal.birth_date(personal.pseudonymise(pc))
                if out is not None:
                    return out + text[10:]
        d = date.fromisoformat(day_part)
        month = d.month
        # the days of the month (calendar.monthrange also computes a weekday, unused here)
        n = _MONTH_DAYS[month] if month != 2 else 29 if calendar.isleap(d.year) else 28
        rotations = _ROTATIONS[n]
        c = rotations[int.from_bytes(_person(o, rel)[16:24], "big") % len(rotations)]
        new_day = (d.day - 1 + c) % n + 1
        return d.replace(day=new_day).isoformat() + text[10:]

    return shift_month


# the pre-pass callbacks: personal codes, company numbers, irregular VAT digits
_CodeSinks = tuple[Callable[[str], None], Callable[[str], None], Callable[[str], None]]


def _code_reader(
    fields: list[FieldDef], prefix: str, rules: RuleSet
) -> Callable[[dict[str, Any], _CodeSinks], None] | None:
    """The pre-pass reader of one object level: passes the normalised personal codes and
    company numbers of ``obj`` (identifier fields; VAT numbers, whose digits are one or the
    other, else irregular) to the callbacks; None when the level holds none."""
    steps: list[tuple[str, str, Any]] = []
    for f in fields:
        path = f"{prefix}{f.name}"
        if f.type == "list":
            assert f.fields is not None
            inner = _code_reader(f.fields, f"{path}.", rules)
            if inner is not None:
                steps.append((f.name, "list", inner))
        elif f.identifier in ("personal_code", "company_code"):
            steps.append((f.name, f.identifier, None))
        elif (rule := rules.get(path)) is not None and rule.params.get("generator") == "vat":
            steps.append((f.name, "vat", None))
    if not steps:
        return None
    normalise = identifiers.normalise

    def read(obj: dict[str, Any], sinks: _CodeSinks) -> None:
        personal, companies, irregular = sinks
        for name, kind, inner in steps:
            value = obj.get(name)
            if value is None:
                continue
            if kind == "list":
                for item in value:
                    inner(item, sinks)
            elif kind == "personal_code":
                # a string of digits is its own normalised form (the stored form: no call)
                personal(
                    value if type(value) is str and value.isdigit() else normalise(kind, value)
                )
            elif kind == "company_code":
                companies(
                    value if type(value) is str and value.isdigit() else normalise(kind, value)
                )
            else:  # the digits as ``Values.vat`` reads them
                digits = re.sub(r"[\s-]", "", str(value)).upper().removeprefix("LV")
                if identifiers.is_valid_company_code(digits):
                    companies(digits)
                elif identifiers.is_valid_personal_code(digits):
                    personal(digits)
                else:
                    irregular(digits)

    return read


def _prepare_codes(
    spec: ReleaseSpec,
    personal_codes: PersonalCodes,
    company_codes: CompanyCodes,
    mapper: Mapper | None = None,
) -> None:
    """The pre-pass: the original personal codes and company numbers of every dataset of the
    release (a cheap read of the identifier fields only), so that the tables of
    ``values.PersonalCodes``/``CompanyCodes`` are fixed before the first output: no output
    code is an original code of its kind."""
    # 8 bytes an occurrence (an 11-digit code as an integer; a value of another shape can
    # never equal a generated code, which always has 11 digits)
    personal, companies = array("q"), array("q")

    def adder(into: array[int]) -> Callable[[str], None]:
        append = into.append

        def add(code: str) -> None:
            if len(code) == 11 and code.isdigit():
                append(int(code))

        return add

    # VAT numbers that are neither (expected: a handful): their irregular numbers are fixed
    # in sorted order before any output, like the irregular personal codes
    irregular_vat: set[str] = set()
    sinks = (adder(personal), adder(companies), irregular_vat.add)
    for ds in spec.datasets:
        read = _code_reader(ds.schema.fields, "", ds.rules)
        if read is None:
            continue
        if ds.partial_records is not None:  # the top-level fields the reader looks at
            names = tuple(
                f.name for f in ds.schema.fields if _code_reader([f], "", ds.rules) is not None
            )
            records = ds.partial_records(names)
        else:
            records = ds.records()
        for record in records:
            read(record, sinks)
    personal_codes.prepare(personal, mapper)
    del personal
    company_codes.prepare(companies, irregular_vat, mapper)


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# the day rotations of a month of n days whose last digit differs (see values.py)
_ROTATIONS = {n: [c for c in range(1, n) if c % 10 and (c - n) % 10] for n in range(28, 32)}


def compile_plan(
    schema: SchemaDef, rules: RuleSet, rel: _Release, auditor: Auditor
) -> tuple[
    Callable[[dict[str, Any], list[Any]], dict[str, Any]], dict[str, list[Any]], frozenset[str]
]:
    """The plan of a dataset: ``run(record, acc) -> out``, its field counters, and the names
    of the leak-proof lists it can fill (``privacy.LISTS``)."""
    stats: dict[str, list[Any]] = {}
    used: set[str] = set()
    transform = _compile_object(schema.fields, "", rules, rel, stats, auditor, used)
    key = schema.key

    def run(record: dict[str, Any], acc: list[Any]) -> dict[str, Any]:
        return transform(record, str(record.get(key)), acc)

    return run, stats, frozenset(used)


_CATEGORY = {
    "keep": "kept",
    "pseudonymise": "pseudonymised",
    "fake": "faked",
    "generalise": "generalised",
    "date_shift": "shifted",
    "mask": "suppressed",
    "null": "suppressed",
    "constant": "suppressed",
}


# ``build_release``'s NDJSON output: ``(dataset code, lines, how many)``
NdjsonSink = Callable[[str, bytes, int], None]


def build_release(
    spec: ReleaseSpec,
    sink: Callable[[str, Record], None],
    progress: Callable[[int], None] = lambda _done: None,
    *,
    ndjson: NdjsonSink | None = None,
) -> PrivacyReport:
    """See the module's docstring. With ``ndjson`` the output records go there instead of to
    ``sink``: ``ndjson(code, lines, n)`` with the NDJSON lines (``orjson.dumps(record) +
    b"\\n"`` each) of ``n`` consecutive output records of one dataset — the bytes a sink
    writing each record that way would write, made where the records are transformed (with
    workers: in the workers, so that no output record is pickled back). ``progress`` is called
    with the same numbers either way."""
    problems = []
    for ds in spec.datasets:
        problems += [
            {"dataset": ds.code, **p.as_dict()} for p in validate_rules(ds.schema, ds.rules)
        ]
    if problems:
        raise ValidationError(
            "The anonymisation rules are not valid.", code="invalid_rules", errors=problems
        )
    with _no_cycle_collection():
        return _build(spec, sink, progress, ndjson)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The release without Python's cyclic garbage collector (restored afterwards). What it
    makes per record — records, cells, the proof's lists — holds no reference cycles:
    reference counting frees all of it as before (the few cycles of the compiled plans and the
    pool are collected once the collector is back), and the collector only walked it for
    nothing (~12 % of the CPU of a 100k release; its full collections walk every object of the
    tables). The
    forked workers inherit it off: their collections would also write to the header of every
    inherited object, so the kernel copied each of those pages into each worker."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(
    spec: ReleaseSpec,
    sink: Callable[[str, Record], None],
    progress: Callable[[int], None],
    ndjson: NdjsonSink | None,
) -> PrivacyReport:
    keys = Keyring(spec.key)
    registers: list[AddressRegister] = []

    def read_register() -> None:
        if not registers:
            registers.append(AddressRegister(spec.address_codes or (), key=keys.sub("address")))

    personal, companies = PersonalCodes(keys), CompanyCodes(keys)
    # with workers, this process reads the address register while they map the codes (the
    # register is not used before the transform); else (or when the mapping ran here) after
    mapper = _fork_map(spec.workers, read_register) if spec.workers > 1 else None
    _prepare_codes(spec, personal, companies, mapper)
    read_register()
    register = registers[0]
    rel = _Release(keys, register, personal, companies)
    auditor = Auditor(spec.privacy, register, {ds.code: ds.schema for ds in spec.datasets})
    # plain cells are looked up whole only when some personal string is pseudonymised (its
    # originals join the global set); decided before the first record of any dataset
    auditor.keep_plain_values = any(
        f.personal
        and not f.identifier
        and f.type == "string"
        and (rule := ds.rules.get(path)) is not None
        and rule.kind == "pseudonymise"
        for ds in spec.datasets
        for path, f in ds.schema.field_paths()
    )
    # every plan is compiled before the first record (and before the workers are forked)
    plans: list[_Plan] = []
    for ds in spec.datasets:
        run, stats, used = compile_plan(ds.schema, ds.rules, rel, auditor)
        plans.append(
            _Plan(ds.code, run, stats, auditor.qi_hook(ds.code), auditor.checker(ds.code, used))
        )
    state = _State(rel, auditor, plans)
    if spec.workers > 1:
        counts = _run_forked(spec, state, sink, progress, ndjson)
    else:
        counts = _run_here(spec, state, sink, progress, ndjson)
    done = sum(counts)
    per_dataset: dict[str, Any] = {}
    for ds, plan, count in zip(spec.datasets, plans, counts, strict=True):
        fields = {}
        totals: dict[str, int] = {}
        for path, f in ds.schema.field_paths():
            if f.type == "list":
                continue
            rule = ds.rules[path]
            category = _CATEGORY[rule.kind]
            if rule.kind == "fake" and rule.params.get("generator") == "gender":
                category = "kept"
            missing, objects = plan.stats[path]
            n = objects[0] - missing
            fields[path] = {"rule": rule.kind, "category": category, "values": n}
            totals[category] = totals.get(category, 0) + n
        per_dataset[ds.code] = {"records": count, "fields": fields, "totals": totals}
    progress(done)
    collisions = rel.personal.collisions + rel.companies.collisions
    details = {
        "datasets": per_dataset,
        "records": done,
        "identifiers": {
            "personal_codes_repaired": rel.personal.repaired,
            "personal_codes_unrepaired": rel.personal.unrepaired,
            "personal_codes_irregular": len(rel.personal.irregular_outputs),
            "company_codes_repaired": rel.companies.repaired,
            "company_codes_unrepaired": rel.companies.unrepaired,
            "personal_codes_displaced": rel.personal.displaced,
            "company_codes_displaced": rel.companies.displaced,
        },
        "addresses": {
            "register": len(register),
            "unknown": register.unknown,
            "kept_alone": register.kept_alone,
        },
        "collisions": collisions,
    }
    return auditor.report(details)


class _Plan(NamedTuple):
    code: str
    run: Callable[[dict[str, Any], list[Any]], dict[str, Any]]
    stats: dict[str, list[Any]]
    collect: Callable[[dict[str, Any]], None] | None
    check: Callable[..., None]  # the leak proof of one record (``Auditor.checker``)


class _State(NamedTuple):
    """What the transform of a record uses and changes: the generators, the auditor, the
    compiled plans (with their field counters)."""

    rel: _Release
    auditor: Auditor
    plans: list[_Plan]


def _transform(
    state: _State, index: int, records: Iterable[Any], raw: bool = False
) -> Iterator[Record]:
    """The records of dataset ``index`` (``raw``: their JSON text) through its plan, the leak
    proof and the quasi-identifier collector."""
    if raw:
        records = map(orjson.loads, records)
    run, _stats, collect, check = state.plans[index][1:]
    for record in records:
        acc: list[Any] = [[], [], [], [], [], []]
        out = run(record, acc)
        check(*acc)
        if collect is not None:
            collect(out)
        yield out


def _source(ds: DatasetInput) -> tuple[Iterator[Any], bool]:
    """The records of a dataset to transform: their JSON text when the caller gives it (parsed
    where they are transformed), else the records."""
    if ds.raw_records is not None:
        return ds.raw_records(), True
    return ds.records(), False


def _lines(outputs: Iterable[Record]) -> bytes:
    """The NDJSON lines of ``outputs`` (at least one)."""
    return b"\n".join(map(orjson.dumps, outputs)) + b"\n"


def _progressed(progress: Callable[[int], None], done: int, n: int) -> int:
    """``n`` more records are out: the progress calls the per-record loop would have made."""
    after = done + n
    for mark in range((done // PROGRESS_EVERY + 1) * PROGRESS_EVERY, after + 1, PROGRESS_EVERY):
        progress(mark)
    return after


def _run_here(
    spec: ReleaseSpec,
    state: _State,
    sink: Callable[[str, Record], None],
    progress: Callable[[int], None],
    ndjson: NdjsonSink | None = None,
) -> list[int]:
    """The records in this process, one after the other; the records of each dataset."""
    done = 0
    counts = []
    for i, ds in enumerate(spec.datasets):
        count = 0
        code = ds.code
        records, raw = _source(ds)
        if ndjson is not None:
            for chunk in _chunks(records, CHUNK):
                ndjson(code, _lines(_transform(state, i, chunk, raw)), len(chunk))
                done = _progressed(progress, done, len(chunk))
                count += len(chunk)
            counts.append(count)
            continue
        for out in _transform(state, i, records, raw):
            sink(code, out)
            count += 1
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress(done)
        counts.append(count)
    return counts


# --- the transform in worker processes ---------------------------------------------------------
#
# After the pre-pass and the plans are compiled (everything order-dependent is fixed there:
# the tables of the codes, the irregular outputs), the workers are forked: each has a copy of
# the tables, the plans and Python's hash secret (the leak proof's hash arrays). This process
# reads the records and sends chunks of CHUNK records — their JSON text when the caller gives
# it (``DatasetInput.raw_records``: the worker parses them); a worker transforms a chunk and
# returns the output — with ``ndjson`` its NDJSON lines as one bytes object, else the records
# — and the DELTA of everything the transform counts (auditor counters, hash arrays, classes,
# field counters, the generators' counters), zeroed before each chunk. This process merges the
# deltas and passes the output on in chunk order, so the output, the progress calls and the
# report are those of the run in one process (tests/anonymisation/test_parallel). At most 2
# chunks a worker are in flight: memory stays flat.

CHUNK = 2000
_FORKED: _State | None = None  # the state the forked workers inherit
_FORKED_FN: Callable[[int, int], Any] | None = None  # the function of a ``_fork_map``
_RANGE = 10_000  # the originals a worker maps at a time in the pre-pass


def _worker_start() -> None:
    """In each forked worker: SIGTERM ends the process again. The pool's ``terminate`` (on
    leaving ``with``) stops its workers with SIGTERM; a handler inherited from the parent (e.g.
    the task worker's graceful shutdown, ``django_tasks_db``'s ``db_worker``) would only set
    its flag, and the pool would wait for a worker blocked on its queue forever."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _pool(workers: int) -> Any:
    return multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start)


def _call_forked(lo: int, hi: int) -> Any:
    assert _FORKED_FN is not None
    return _FORKED_FN(lo, hi)


def _fork_map(workers: int, meanwhile: Callable[[], None] = lambda: None) -> Mapper:
    """A ``values.Mapper`` running the ranges in ``workers`` processes forked for the call
    (the pre-pass's bijection of every original code: a pure function of the key and the
    code, independent for each code). ``meanwhile``: work of this process that needs none of
    the results, run while the workers map (else this process only waits)."""

    def mapper(fn: Callable[[int, int], Any], n: int) -> list[Any]:
        global _FORKED_FN
        if n < 2 * _RANGE:
            return [fn(0, n)]
        _FORKED_FN = fn
        try:
            with _pool(workers) as pool:
                ranges = [(lo, min(lo + _RANGE, n)) for lo in range(0, n, _RANGE)]
                mapped = pool.starmap_async(_call_forked, ranges)
                meanwhile()
                return list(mapped.get())
        finally:
            _FORKED_FN = None

    return mapper


def _counters(state: _State) -> list[Any]:
    """The counted state's containers and numbers that a chunk changes, in a fixed order."""
    rel, a = state.rel, state.auditor
    return [
        rel.personal, ("repaired", "unrepaired", "collisions"),
        rel.companies, ("repaired", "unrepaired", "collisions"),
        rel.register, ("unknown", "kept_alone"),
        a, ("records", "cells_checked", "originals_checked", "windows_checked", "leak_count",
            "coincidences"),
    ]  # fmt: skip


def _objects_lists(stats: dict[str, list[Any]]) -> list[list[int]]:
    """The distinct object counters of a plan's levels, in the order first met (the same in
    every process: the stats are built before the fork)."""
    seen: dict[int, list[int]] = {}
    for _missing, objects in stats.values():
        seen.setdefault(id(objects), objects)
    return list(seen.values())


def _worker_chunk(
    index: int, records: list[Any], raw: bool, as_lines: bool
) -> tuple[Any, tuple[Any, ...]]:
    """In a worker: one chunk of dataset ``index`` (``raw``: JSON texts); the outputs (with
    ``as_lines``: their NDJSON lines and how many) and the delta of the counts."""
    state = _FORKED
    assert state is not None
    a = state.auditor
    stats = state.plans[index].stats
    # zero what the chunk counts (in place: the plans hold bound methods of these containers)
    counted = _counters(state)
    for obj, names in zip(counted[::2], counted[1::2], strict=True):
        for name in names:
            setattr(obj, name, 0)
    for hashes in (a.original_hashes, a.plain_hashes, a.derived_hashes):
        del hashes[:]
    a.leaks.clear()
    a.classes.clear()
    a.diversity.clear()
    a.persons.clear()
    for counter in stats.values():
        counter[0] = 0
    for objects in _objects_lists(stats):
        objects[0] = 0
    outputs: Any = list(_transform(state, index, records, raw))
    if as_lines:
        outputs = (_lines(outputs), len(outputs))
    numbers = tuple(
        getattr(obj, name)
        for obj, names in zip(counted[::2], counted[1::2], strict=True)
        for name in names
    )
    delta = (
        numbers,
        a.original_hashes,
        a.plain_hashes,
        a.derived_hashes,
        a.leaks,
        a.classes,
        a.diversity,
        a.persons,
        [counter[0] for counter in stats.values()],
        [objects[0] for objects in _objects_lists(stats)],
    )
    return outputs, delta


def _merge(state: _State, index: int, delta: tuple[Any, ...]) -> None:
    """Add a worker's delta of one chunk of dataset ``index`` (merged in chunk order: the
    first-met order of classes and persons, and the first leak examples, are those of the run
    in one process)."""
    numbers, originals, plain, derived, leaks, classes, diversity, persons, missing, objects = delta
    a = state.auditor
    counted = _counters(state)
    values = iter(numbers)
    for obj, names in zip(counted[::2], counted[1::2], strict=True):
        for name in names:
            setattr(obj, name, getattr(obj, name) + next(values))
    a.original_hashes.extend(originals)
    a.plain_hashes.extend(plain)
    a.derived_hashes.extend(derived)
    a.leaks.extend(leaks[: max(0, 10 - len(a.leaks))])
    a.classes.update(classes)
    for cls, seen in diversity.items():
        a.diversity.setdefault(cls, set()).update(seen)
    if persons:
        width = len(a.columns)
        code = state.plans[index].code
        mine = [i for i, _p, _fn in a.by_dataset.get(code, [])] + [
            width + j for j, _p in a.sensitive_by_dataset.get(code, [])
        ]
        size = width + len(a.settings.sensitive)
        for person, row in persons.items():
            into = a.persons.get(person)
            if into is None:
                into = a.persons[person] = [None] * size
            for i in mine:
                into[i] = row[i]
    stats = state.plans[index].stats
    for counter, n in zip(stats.values(), missing, strict=True):
        counter[0] += n
    for counter, n in zip(_objects_lists(stats), objects, strict=True):
        counter[0] += n


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_forked(
    spec: ReleaseSpec,
    state: _State,
    sink: Callable[[str, Record], None],
    progress: Callable[[int], None],
    ndjson: NdjsonSink | None = None,
) -> list[int]:
    """The records in ``spec.workers`` forked processes, chunk by chunk (see above)."""
    global _FORKED
    counts = [0] * len(spec.datasets)
    done = 0
    pending: deque[tuple[int, Any]] = deque()

    def drain() -> None:
        nonlocal done
        index, result = pending.popleft()
        outputs, delta = result.get()
        _merge(state, index, delta)
        code = state.plans[index].code
        if ndjson is not None:
            lines, n = outputs
            ndjson(code, lines, n)
            done = _progressed(progress, done, n)
            counts[index] += n
            return
        for out in outputs:
            sink(code, out)
            done += 1
            if done % PROGRESS_EVERY == 0:
                progress(done)
        counts[index] += len(outputs)

    _FORKED = state
    try:
        with _pool(spec.workers) as pool:
            as_lines = ndjson is not None
            for index, ds in enumerate(spec.datasets):
                records, raw = _source(ds)
                for chunk in _chunks(records, CHUNK):
                    pending.append(
                        (index, pool.apply_async(_worker_chunk, (index, chunk, raw, as_lines)))
                    )
                    if len(pending) >= 2 * spec.workers:
                        drain()
            while pending:
                drain()
    finally:
        _FORKED = None
    return counts
