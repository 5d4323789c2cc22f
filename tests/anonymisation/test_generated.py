"""Twins of the generated per-dataset code (docs/anonymisation-performance.md, step 5): the
leak proof generated for the lists a plan fills and the generated quasi-identifier collector
give what the generic loops they replaced gave (kept here as the reference), and ``Mac`` is
HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
from collections import Counter
from typing import Any

import orjson
import pytest

from dagr.anonymisation.engine import build_release
from dagr.anonymisation.privacy import LISTS, Auditor, _level
from dagr.anonymisation.rules import Rule, default_rules
from dagr.anonymisation.spec import PrivacySettings, QuasiIdentifier
from dagr.anonymisation.values import AddressRegister, Mac, shares_window
from dagr.catalog.schema import parse_schema

_DIGIT_RUN = re.compile(r"\d{11,}")


def _field(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title_lv": name, "title_en": name, "type": type_, **extra}


SCHEMA = parse_schema(
    {
        "key": "personal_code",
        "fields": [
            _field("personal_code", required=True, personal=True, identifier="personal_code"),
            _field("gender"),
            _field("birth_date", "date"),
            _field("address_code", identifier="address_code"),
            _field("note"),
        ],
    }
)


@pytest.mark.parametrize("size", [16, 32, 64, 65, 100])
def test_mac_is_hmac_sha256(size: int) -> None:
    rng = random.Random(size)
    key = bytes(rng.randrange(256) for _ in range(size))
    mac = Mac(key)
    for message in ["", "16064511982", "address/103669321", "Jānis Bērziņš", "x" * 200]:
        expected = hmac.digest(key, message.encode(), "sha256")
        assert mac.digest(message) == expected
        assert mac.h64(message) == int.from_bytes(expected[:8], "big")


class _Reference:
    """The leak proof of one record as it was before it was generated per dataset (the
    generic loop over every list), on its own counters."""

    def __init__(self, keep_plain_values: bool) -> None:
        self.keep_plain_values = keep_plain_values
        self.records = self.cells_checked = self.originals_checked = 0
        self.windows_checked = self.leak_count = self.coincidences = 0
        self.leaks: list[dict[str, str]] = []
        self.original_hashes: list[int] = []
        self.plain_hashes: list[int] = []

    def _leak(self, dataset: str, what: str) -> None:
        self.leak_count += 1
        if len(self.leaks) < 10:
            self.leaks.append({"dataset": dataset, "what": what})

    def check_record(
        self,
        dataset: str,
        originals: list[str],
        pairs: list[tuple[str, str]],
        plain: list[str],
        derived: list[str],
        global_originals: list[str],
        names: list[tuple[str, str]],
    ) -> None:
        self.records += 1
        self.cells_checked += len(plain) + len(derived)
        self.originals_checked += len(originals)
        for original, output in pairs:
            if len(original) > 5 and shares_window(original, output):
                self._leak(dataset, "derived value shares 6 characters with its original")
        if originals:
            joined_plain = "\x1f".join(plain)
            joined_derived = "\x1f".join(derived)
            for o in originals:
                n = len(o) - 5
                if n <= 0:
                    continue
                self.windows_checked += n
                if joined_plain and any(o[i : i + 6] in joined_plain for i in range(n)):
                    self._leak(dataset, "a kept or plain cell contains 6 characters of an original")
                if joined_derived and any(o[i : i + 6] in joined_derived for i in range(n)):
                    self.coincidences += 1
        for first, last in names:
            for cell in plain:
                if first in cell and last in cell:
                    self._leak(dataset, "a kept or plain cell contains a person's full name")
        self.original_hashes.extend(map(hash, global_originals))
        for cell in plain:
            if self.keep_plain_values:
                self.plain_hashes.append(hash(cell))
            if len(cell) >= 11:
                for run in _DIGIT_RUN.findall(cell):
                    for i in range(len(run) - 10):
                        self.plain_hashes.append(hash(run[i : i + 11]))


def _random_lists(rng: random.Random, used: frozenset[str]) -> list[list[Any]]:
    """One record's lists: codes, names and cells that often share 6 characters."""
    codes = [f"{rng.randrange(10**11):011d}" for _ in range(rng.randrange(4))]
    words = ["Jānis", "Bērziņš", "Ozoliņa", "Anna", "LVA", "Kalniņš"]

    def cell() -> str:
        pick = rng.randrange(6)
        if pick == 0 and codes:
            code = rng.choice(codes)
            i = rng.randrange(6)
            return f"x{code[i : i + 6 + rng.randrange(6)]}y"
        if pick == 1:
            return f"IK {rng.choice(words)} {rng.choice(words)}"
        if pick == 2:
            return f"{rng.randrange(10**14)}"
        return rng.choice([*words, "1985-11-18", "male", ""])

    lists: dict[str, list[Any]] = {
        "originals": codes + [rng.choice(words) for _ in range(rng.randrange(2))],
        "pairs": [(rng.choice(words + codes or words), cell()) for _ in range(rng.randrange(3))],
        "plain": [cell() for _ in range(rng.randrange(4))],
        "derived": [cell() for _ in range(rng.randrange(3))],
        "global_originals": list(codes),
        "names": [(rng.choice(words), rng.choice(words)) for _ in range(rng.randrange(2))],
    }
    order = ("originals", "pairs", "plain", "derived", "global_originals", "names")
    return [lists[name] if name in used else [] for name in order]


@pytest.mark.parametrize("keep_plain_values", [False, True])
@pytest.mark.parametrize(
    "used",
    [
        LISTS,
        frozenset({"plain"}),
        frozenset({"originals", "global_originals", "derived"}),
        frozenset({"originals", "pairs", "derived", "plain", "names"}),
    ],
)
def test_generated_leak_proof_counts_what_the_generic_loop_counted(
    used: frozenset[str], keep_plain_values: bool
) -> None:
    auditor = Auditor(PrivacySettings(quasi_identifiers=()), None, {"d": SCHEMA})
    auditor.keep_plain_values = keep_plain_values
    check = auditor.checker("d", used)
    reference = _Reference(keep_plain_values)
    rng = random.Random(f"{sorted(used)}{keep_plain_values}")
    for _ in range(3000):
        lists = _random_lists(rng, used)
        check(*lists)
        reference.check_record("d", *lists)
    names = ("records", "cells_checked", "originals_checked", "windows_checked", "coincidences")
    assert [getattr(auditor, n) for n in names] == [getattr(reference, n) for n in names]
    assert auditor.leak_count == reference.leak_count
    assert auditor.leaks == reference.leaks
    assert list(auditor.original_hashes) == reference.original_hashes
    assert list(auditor.plain_hashes) == reference.plain_hashes
    # the test can fail: every kind of finding did occur where its lists are used
    if "plain" in used and "originals" in used:
        assert auditor.leak_count > 0
    if "derived" in used and "originals" in used:
        assert auditor.coincidences > 0


REGISTER = AddressRegister(
    [("100000001", None), ("100000002", "100000001"), ("100000003", "100000002")]
    + [(f"{100000010 + i}", "100000002") for i in range(20)]
)


@pytest.mark.parametrize("joined", [False, True])
def test_generated_collector_gives_the_classes_of_the_levels(joined: bool) -> None:
    qis = tuple(
        QuasiIdentifier("d", path, level)
        for path, level in [
            ("birth_date", "year"),
            ("birth_date", "decade"),
            ("birth_date", "month"),
            ("gender", "exact"),
            ("address_code", "territory"),
            ("address_code", "parent"),
        ]
    )
    sensitive = (("d", "note"),) if not joined else (("e", "note"),)
    schemas = {"d": SCHEMA, "e": SCHEMA}
    auditor = Auditor(PrivacySettings(qis, sensitive), REGISTER, schemas)
    assert auditor.joined is joined
    collect = auditor.qi_hook("d")
    assert collect is not None
    rng = random.Random(joined)
    classes: Counter[tuple[Any, ...]] = Counter()
    diversity: dict[tuple[Any, ...], set[tuple[int, Any]]] = {}
    persons: dict[str, list[Any]] = {}
    levels = [(q.path, _level(q.level, REGISTER)) for q in qis]
    for _ in range(2000):
        out: dict[str, Any] = {"personal_code": f"{rng.randrange(300):011d}"}
        if rng.random() < 0.9:
            out["birth_date"] = (
                f"{rng.randrange(1930, 2020)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}"
            )
        if rng.random() < 0.9:
            out["gender"] = rng.choice(["male", "female"])
        if rng.random() < 0.9:
            out["address_code"] = rng.choice(["100000003", "100000015", "999999999", 100000012])
        out["note"] = rng.choice(["a", "b", None])
        collect(out)
        cls = tuple(None if out.get(p) is None else fn(out.get(p)) for p, fn in levels)
        if not joined:
            classes[cls] += 1
            diversity.setdefault(cls, set()).add((0, out.get("note")))
        else:
            row = persons.setdefault(str(out.get("personal_code")), [None] * 7)
            row[:6] = cls
    if not joined:
        assert auditor.classes == classes
        assert list(auditor.classes) == list(classes)  # the order first met (the report's ties)
        assert auditor.diversity == diversity
        assert len(classes) > 50
    else:
        assert auditor.persons == persons
        assert list(auditor.persons) == list(persons)


def test_children_of_every_address_without_a_search() -> None:
    rng = random.Random(7)
    codes = [f"{100000000 + i * 7}" for i in range(3000)]
    pairs: list[tuple[str, str | None]] = [(codes[0], None), (codes[1], None)]
    for i in range(2, len(codes)):
        pairs.append((codes[i], rng.choice(codes[: max(2, i // 3)])))
    pairs.append(("100099999", "999999999"))  # a parent outside the register: no parent
    rng.shuffle(pairs)
    register = AddressRegister(pairs)
    parent = list(register.parent)
    for p in range(-1, len(parent)):
        expected = [i for i in register.order if parent[i] == p]
        if p >= 0:
            assert list(register.children(p)) == expected
    assert sum(len(register.children(p)) for p in range(len(parent))) == sum(
        1 for q in parent if q >= 0
    )


def release_digest(build: Any) -> str:
    """The SHA-256 of the output (every record in order, as NDJSON) and of the report of the
    dense demo release (displaced codes, board members, addresses, birth dates shifted inside
    the month, other dates by days, a masked field) with a fixed key, built by ``build``
    (``engine.build_release`` of this code or of an older copy)."""
    from tests.anonymisation.test_engine import COMP, KEY_A, PERS, _demo, _dense, _spec

    data, parsed = _demo()
    data = _dense(data, KEY_A)
    rules = {
        PERS: default_rules(parsed[PERS]) | {"citizenship": Rule(kind="mask")},
        COMP: default_rules(parsed[COMP])
        | {
            "registration_date": Rule(kind="date_shift", params={"days": 30}),
            "board_members.since": Rule(kind="date_shift", params={"days": 10}),
        },
    }
    digest = hashlib.sha256()

    def sink(code: str, record: dict[str, Any]) -> None:
        digest.update(code.encode() + orjson.dumps(record) + b"\n")

    report = build(_spec(data, parsed, KEY_A, rules=rules), sink)
    digest.update(orjson.dumps(report.as_json(), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


# ``release_digest(build_release)`` of main before the changes of step 5 (commit f35f04f:
# the generic leak proof and collector, hmac.digest, Names.name, the month shift by int()):
# the output and the report are byte for byte those of the older code
OLD_DIGEST = "1941bf30b0c4d313dbb96ed62433e884e815c063d7491ca60876ce2f8a5bafc6"


def test_release_is_byte_identical_to_the_older_code() -> None:
    assert release_digest(build_release) == OLD_DIGEST


def test_shares_window_of_a_code_is_the_loop_over_its_windows() -> None:
    rng = random.Random(11)
    found = 0
    for _ in range(20000):
        code = "".join(rng.choice("0123") for _ in range(11))
        text = "".join(rng.choice("01-") for _ in range(rng.randrange(25)))
        if rng.random() < 0.3:  # a piece of the code itself somewhere in the text
            i = rng.randrange(6)
            text = text[:5] + code[i : i + 5 + rng.randrange(3)] + text[5:]
        expected = any(code[i : i + 6] in text for i in range(6))
        assert shares_window(code, text) is expected
        found += expected
    assert 100 < found < 19900
