"""The privacy report of a release: k-anonymity and l-diversity of the joined per-person view of
the OUTPUT, what the rules did to each field, and the leak proof.

**k-anonymity / l-diversity.** The quasi-identifiers (defaults: birth year, gender, territory —
the top-level unit of the address through the register's parent chain) are read from the
anonymised records. When they all come from one dataset (the usual case) each record adds one
to a counter keyed by its class: memory grows with the number of classes, not of persons. When
they span datasets, the per-person values are joined by the person's OUTPUT personal code (the
key of each dataset holding quasi-identifiers must be a personal code) in a dict that exists
only then. ``k`` is the size of the smallest class; ``l`` the fewest distinct sensitive values
in a class. Below the required k the report advises which rule to tighten, with the k each
change would give (computed by merging the classes, not by a second pass).

**The leak proof.** Output cells are of two sorts: *derived* cells are made from one original
value by a keyed generator (pseudonymised identifiers, fake names, e-mails, phones, …); *plain*
cells are everything else (kept values, constants, masks, generalised and shifted dates).
What is proven, for every record of every dataset:

(a) globally: no pseudonymised personal code or company number equals an original value (of
    any dataset of the release) — ``values.py`` makes the codes disjoint from the originals of
    their kind, so such an equality is a *leak*, not a coincidence; no plain cell equals an
    original personal-code or company-number value, nor an original value of a pseudonymised
    personal field, and no run of 11 or more digits in a plain cell contains an original code
    (every 11-digit window is looked up). Originals and the looked-up cells are kept as 64-bit
    hashes (Python's per-process keyed SipHash) in compact arrays (8 bytes a value) and
    intersected at the end;
(b) per record: no output cell contains any 6-character substring of the record's original
    personal values — identifier values of kind personal_code/company_code and personal strings
    that are not kept. A derived cell is checked against its own original as a *leak* — except
    pseudonymised personal codes and company numbers: the bijections of ``values.py`` guarantee
    it by construction (and the disjoint tables check it for every code they move), so the
    per-record check is limited to cells of the non-bijective generators; against
    the other originals of the record it can only meet them by chance, and such meetings are
    counted as *coincidences* (reported, not leaks). Names are the one exception to the
    6-character rule: a person's first and last name (faked fields) are checked as the full
    name — a plain cell containing both is a leak (``IK "Jānis Bērziņš"`` as the name of a
    company whose owner is Jānis Bērziņš) — because pieces of names are ordinary words: a
    company called "Dzintara birze" is no leak of its board member Dzintars, nor "Ozola koks"
    of Ms Ozola. A fake name always differs from the person's own and shares no 6-character
    piece with it.

Address codes are excluded by design: they are existing public codes of the address register.

Why the 6-character check is not global for personal codes: every birth date's DDMMYY prefix
(and every 6-digit run) belongs to some real person once the register is large — a valid
output code necessarily shares 6-character pieces with many real codes. What is proven instead
is (b): a person's replacement shares no 6-character piece with *their own* code (the bijections
in ``values.py`` guarantee it at the same position and the swap repair at any other), plus (a)
for whole values. Whole output codes are disjoint from the original codes (a), although each
birth month is mapped onto itself: the tables of ``values.py`` give a code whose bijection image
is another real code the next free code of its cycle. A fake name, however, is a real Latvian
name by design, and may be some real person's name; that says nothing of that person.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_noop

from dagr.catalog.schema import SchemaDef

from .rules import is_birth_date, name_hint
from .spec import PrivacyReport, PrivacySettings, QuasiIdentifier
from .values import AddressRegister

_DIGIT_RUN = re.compile(r"\d{11,}")
MAX_CLASSES_SHOWN = 10
# any of the six 6-character windows of an 11-character original ``o`` in ``text``
_ANY_WINDOW = " or ".join(f"o[{i}:{i + 6}] in {{text}}" for i in range(6))
# the lists of one record's originals and cells that the engine hands to the leak proof
LISTS = frozenset({"originals", "pairs", "plain", "derived", "global_originals", "names"})


def default_quasi_identifiers(
    datasets: Iterable[tuple[str, SchemaDef]],
) -> tuple[QuasiIdentifier, ...]:
    """The default quasi-identifiers: birth year, gender and territory of every dataset keyed by
    a personal code (fields recognised by their type, identifier kind and name)."""
    found: list[QuasiIdentifier] = []
    for code, schema in datasets:
        fields = {f.name: f for f in schema.fields}
        if fields[schema.key].identifier != "personal_code":
            continue
        for f in schema.fields:
            if f.type == "date" and is_birth_date(f.name):
                found.append(QuasiIdentifier(code, f.name, "year"))
            elif f.type == "string" and name_hint(f.name) == ("fake", "gender"):
                found.append(QuasiIdentifier(code, f.name, "exact"))
            elif f.identifier == "address_code" and f.personal:
                found.append(QuasiIdentifier(code, f.name, "territory"))
    return tuple(found)


def _level_source(level: str, has_register: bool) -> str:
    """The expression of ``_level(level, register)(v)`` in a generated collector."""
    text = "(v if type(v) is str else str(v))"
    if level == "year":
        return f"{text}[:4]"
    if level == "decade":
        return f"{text}[:3] + '0s'"
    if level == "month":
        return f"{text}[:7]"
    if level == "territory" and has_register:
        return f"territory{text}"
    if level == "parent" and has_register:
        return f"parent_of{text}"
    return "v"


def _level(level: str, register: AddressRegister | None) -> Callable[[Any], Any]:
    if level == "year":
        return lambda v: str(v)[:4]
    if level == "decade":
        return lambda v: str(v)[:3] + "0s"
    if level == "month":
        return lambda v: str(v)[:7]
    if level in ("territory", "parent") and register is not None:
        find = register.territory if level == "territory" else register.parent_of
        return lambda v: find(v if type(v) is str else str(v))
    return lambda v: v


class Auditor:
    """Collects, while the engine streams, what the report needs; ``report()`` at the end."""

    def __init__(
        self,
        settings: PrivacySettings,
        register: AddressRegister | None,
        schemas: dict[str, SchemaDef],
    ) -> None:
        self.settings = settings
        self.register = register
        qis = settings.quasi_identifiers
        sensitive = settings.sensitive
        self.columns: list[tuple[str, str, str]] = [(q.dataset, q.path, q.level) for q in qis]
        self.problems: list[str] = []
        spans = {q.dataset for q in qis} | {d for d, _p in sensitive}
        self.joined = len(spans) > 1
        self.by_dataset: dict[str, list[tuple[int, str, Callable[[Any], Any]]]] = {}
        self.sensitive_by_dataset: dict[str, list[tuple[int, str]]] = {}
        for i, q in enumerate(qis):
            self.by_dataset.setdefault(q.dataset, []).append((i, q.path, _level(q.level, register)))
        for j, (d, p) in enumerate(sensitive):
            self.sensitive_by_dataset.setdefault(d, []).append((j, p))
        for d in spans:
            schema = schemas.get(d)
            if schema is None:
                self.problems.append(f"unknown dataset {d}")
                continue
            top = {f.name: f for f in schema.fields}
            if self.joined and top[schema.key].identifier != "personal_code":
                self.problems.append(f"{d}: quasi-identifiers across datasets need a person key")
            for _i, p, *_rest in self.by_dataset.get(d, []) + [
                (j, p) for j, p in self.sensitive_by_dataset.get(d, [])
            ]:
                if p not in top or top[p].type == "list":
                    self.problems.append(f"{d}.{p}: a quasi-identifier must be a top-level field")
        self.classes: Counter[tuple[Any, ...]] = Counter()
        self.diversity: dict[tuple[Any, ...], set[tuple[int, Any]]] = {}
        self.persons: dict[str, list[Any]] = {}
        self.keys: dict[str, str] = {code: schema.key for code, schema in schemas.items()}
        # leak proof
        self.original_hashes = array("q")
        self.plain_hashes = array("q")
        self.derived_hashes = array("q")
        self.keep_plain_values = False  # set when a pseudonymised personal string exists
        self.leaks: list[dict[str, str]] = []
        self.leak_count = 0
        self.coincidences = 0
        self.cells_checked = 0
        self.originals_checked = 0
        self.windows_checked = 0
        self.records = 0
        self._checkers: dict[str, Callable[..., None]] = {}

    # -- per record --------------------------------------------------------------------------
    def qi_hook(self, dataset: str) -> Callable[[dict[str, Any]], None] | None:
        """The per-record quasi-identifier collector of ``dataset`` (None: it holds none): one
        function generated for the dataset (its fields as ``repr`` literals, the levels as
        fixed expressions), like the engine's transform, instead of a loop over getters."""
        columns = self.by_dataset.get(dataset, [])
        sensitive = self.sensitive_by_dataset.get(dataset, [])
        if not columns and not sensitive:
            return None
        ns: dict[str, Any] = {
            "classes": self.classes,
            "diversity": self.diversity,
            "persons": self.persons,
            "territory": self.register.territory if self.register is not None else None,
            "parent_of": self.register.parent_of if self.register is not None else None,
        }
        body = ["def collect(out):", "    get = out.get"]
        has_register = self.register is not None
        qis = self.settings.quasi_identifiers
        for n, (i, p, _fn) in enumerate(columns):
            level = _level_source(qis[i].level, has_register)
            body += [f"    v = get({p!r})", f"    q{n} = None if v is None else {level}"]
        if not self.joined:
            cls = "".join(f"q{n}, " for n in range(len(columns)))
            body += [f"    cls = ({cls})", "    classes[cls] += 1"]
            for j, p in sensitive:
                body.append(f"    diversity.setdefault(cls, set()).add(({j}, get({p!r})))")
        else:
            width = len(self.columns)
            size = width + len(self.settings.sensitive)
            key = self.keys[dataset]
            body += [
                f"    person = str(get({key!r}))",
                "    row = persons.get(person)",
                "    if row is None:",
                f"        row = persons[person] = [None] * {size}",
            ]
            for n, (i, _p, _fn) in enumerate(columns):
                body.append(f"    row[{i}] = q{n}")
            for j, p in sensitive:
                body.append(f"    row[{width + j}] = get({p!r})")
        # the source is built here from field names (as repr literals) and fixed lines only
        exec(compile("\n".join([*body, ""]), f"<quasi-identifiers {dataset}>", "exec"), ns)  # noqa: S102
        collect: Callable[[dict[str, Any]], None] = ns["collect"]
        return collect

    def checker(
        self, dataset: str, used: frozenset[str] = LISTS
    ) -> Callable[
        [list[str], list[tuple[str, str]], list[str], list[str], list[str], list[tuple[str, str]]],
        None,
    ]:
        """The leak proof of one record of ``dataset``: ``check(originals, pairs, plain,
        derived, global_originals, names)`` — the lists the engine's plan fills for the record
        (see the module docstring). One function generated for the dataset: ``used`` names the
        lists its plan can fill at all (``LISTS``), and the steps on lists that stay empty are
        left out of its source; the steps themselves are fixed lines, the same for every
        dataset (``check_record`` is the one with every list)."""

        def joined(name: str) -> str:
            return f"SEP.join({name})" if name in used else repr("")

        # each step: the lists it reads, its lines (indented by 4); in this order
        steps: list[tuple[set[str], list[str]]] = [
            (set(), ["a.records += 1"]),
            ({"plain"}, ["a.cells_checked += len(plain)"]),
            ({"derived"}, ["a.cells_checked += len(derived)"]),
            ({"originals"}, ["a.originals_checked += len(originals)"]),
            (
                {"pairs"},
                [
                    "for original, output in pairs:",
                    "    # (an original shorter than 6 characters has no piece to share)",
                    "    n = len(original) - 5",
                    "    if n > 0:",
                    "        for i in range(n):",
                    "            if original[i : i + 6] in output:",
                    "                leak(dataset, DERIVED_LEAK)",
                    "                break",
                ],
            ),
            (
                {"originals"},
                [
                    "if originals:",
                    f"    joined_plain = {joined('plain')}",
                    f"    joined_derived = {joined('derived')}",
                    "    windows_checked = 0",
                    "    for o in originals:  # at most one leak (or coincidence) an original",
                    "        n = len(o) - 5",
                    "        if n <= 0:",
                    "            continue",
                    "        windows_checked += n",
                    "        # an empty join holds no 6-character window: its loop is skipped; an",
                    "        # 11-character original (a personal code, a company number) has six",
                    "        # windows, tested in one expression",
                    "        if joined_plain:",
                    "            if n == 6:",
                    f"                if {_ANY_WINDOW.format(text='joined_plain')}:",
                    "                    leak(dataset, PLAIN_LEAK)",
                    "            else:",
                    "                for i in range(n):",
                    "                    if o[i : i + 6] in joined_plain:",
                    "                        leak(dataset, PLAIN_LEAK)",
                    "                        break",
                    "        if joined_derived:",
                    "            if n == 6:",
                    f"                if {_ANY_WINDOW.format(text='joined_derived')}:",
                    "                    a.coincidences += 1",
                    "            else:",
                    "                for i in range(n):",
                    "                    if o[i : i + 6] in joined_derived:",
                    "                        a.coincidences += 1",
                    "                        break",
                    "    a.windows_checked += windows_checked",
                ],
            ),
            (
                {"names", "plain"},
                [
                    "if names:",
                    "    for first, last in names:",
                    "        for cell in plain:",
                    "            if first in cell and last in cell:",
                    "                leak(dataset, NAME_LEAK)",
                ],
            ),
            (
                {"global_originals"},
                ["for g in global_originals:", "    original_hash(hash(g))"],
            ),
            (
                {"plain"},
                [
                    "if plain:",
                    "    for cell in plain:",
                    *(["        plain_hash(hash(cell))"] if self.keep_plain_values else []),
                    "        if len(cell) >= 11:",
                    "            for run in findall(cell):",
                    "                for i in range(len(run) - 10):",
                    "                    plain_hash(hash(run[i : i + 11]))",
                ],
            ),
        ]
        body = ["def check(originals, pairs, plain, derived, global_originals, names):"]
        for needs, lines in steps:
            if needs <= used:
                body += [f"    {line}" for line in lines]
        ns: dict[str, Any] = {
            "a": self,
            "dataset": dataset,
            "leak": self._leak,
            "SEP": "\x1f",
            "DERIVED_LEAK": "derived value shares 6 characters with its original",
            "PLAIN_LEAK": "a kept or plain cell contains 6 characters of an original",
            "NAME_LEAK": "a kept or plain cell contains a person's full name",
            # bound to the arrays themselves: the workers empty them in place
            "original_hash": self.original_hashes.append,
            "plain_hash": self.plain_hashes.append,
            "findall": _DIGIT_RUN.findall,
        }
        # the source is built here from fixed lines only (the dataset code is a value)
        exec(compile("\n".join([*body, ""]), f"<leak proof {dataset}>", "exec"), ns)  # noqa: S102
        check: Callable[..., None] = ns["check"]
        return check

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
        """The leak proof of one record with every list (``checker`` of the dataset)."""
        check = self._checkers.get(dataset)
        if check is None:
            check = self._checkers[dataset] = self.checker(dataset)
        check(originals, pairs, plain, derived, global_originals, names)

    def derived_identifier(self, value: str) -> None:
        self.derived_hashes.append(hash(value))

    def _leak(self, dataset: str, what: str) -> None:
        self.leak_count += 1
        if len(self.leaks) < 10:
            self.leaks.append({"dataset": dataset, "what": what})

    # -- the report --------------------------------------------------------------------------
    def _final_classes(self) -> Counter[tuple[Any, ...]]:
        if not self.joined:
            return self.classes
        width = len(self.columns)
        classes: Counter[tuple[Any, ...]] = Counter()
        diversity: dict[tuple[Any, ...], set[tuple[int, Any]]] = {}
        for row in self.persons.values():
            cls = tuple(row[:width])
            classes[cls] += 1
            for j, value in enumerate(row[width:]):
                diversity.setdefault(cls, set()).add((j, value))
        self.diversity = diversity
        return classes

    def report(self, details: dict[str, Any]) -> PrivacyReport:
        classes = self._final_classes()
        k_required = self.settings.k
        k = min(classes.values()) if classes and self.columns else None
        l_div: int | None = None
        if self.settings.sensitive and self.diversity:
            n = len(self.settings.sensitive)
            l_div = min(
                min(sum(1 for j2, _v in values if j2 == j) for j in range(n))
                for values in self.diversity.values()
            )
        global_leaks = _intersect(self.original_hashes, self.plain_hashes)
        code_leaks = _intersect(self.original_hashes, self.derived_hashes)
        coincidences = self.coincidences
        leaks = self.leak_count + global_leaks + code_leaks
        if global_leaks:
            self.leaks.append(
                {"dataset": "*", "what": f"{global_leaks} plain cells equal originals"}
            )
        if code_leaks:
            self.leaks.append(
                {"dataset": "*", "what": f"{code_leaks} pseudonymised codes equal originals"}
            )
        smallest = sorted(classes.items(), key=lambda item: (item[1], str(item[0])))
        shown = [
            {
                "class": {f"{d}.{p}": v for (d, p, _lvl), v in zip(self.columns, cls, strict=True)},
                "size": size,
            }
            for cls, size in smallest[:MAX_CLASSES_SHOWN]
        ]
        advice = self._advice(classes, k, k_required) if k is not None and k < k_required else []
        passed = (
            leaks == 0
            and not self.problems
            and (k is None or k >= k_required)
            and not details.get("collisions")
        )
        details = {
            **details,
            "persons": sum(classes.values()) if self.columns else 0,
            "classes": len(classes),
            "quasi_identifiers": [
                {"dataset": d, "path": p, "level": lvl} for d, p, lvl in self.columns
            ],
            "smallest_classes": shown,
            "advice": advice,
            "problems": self.problems,
            "leak_proof": {
                "leaks": leaks,
                "records": self.records,
                "cells_checked": self.cells_checked,
                "originals_checked": self.originals_checked,
                "windows_checked": self.windows_checked,
                "original_hashes": len(self.original_hashes),
                "cells_looked_up": len(self.plain_hashes),
                "codes_looked_up": len(self.derived_hashes),
                "coincidences": coincidences,
                "examples": self.leaks,
            },
        }
        return PrivacyReport(
            passed=passed, k=k, k_required=k_required, l_diversity=l_div, details=details
        )

    def _advice(
        self, classes: Counter[tuple[Any, ...]], k: int, k_required: int
    ) -> list[dict[str, Any]]:
        """Which rule to tighten, with the k each change would give."""
        options: list[tuple[str, int, str, str, dict[str, Any]]] = []
        for i, (d, p, level) in enumerate(self.columns):
            if level in ("year", "exact", "month") and _looks_like_date(classes, i):
                merged = _merge(classes, i, lambda v: None if v is None else str(v)[:3] + "0s")
                options.append(
                    (
                        "generalise_decade",
                        merged,
                        d,
                        p,
                        {
                            "message": gettext_noop(
                                "Generalise %(field)s of %(dataset)s to the decade "
                                "(k would be %(k)s)."
                            )
                        },
                    )
                )
            merged = _merge(classes, i, lambda _v: None)
            options.append(
                (
                    "drop",
                    merged,
                    d,
                    p,
                    {
                        "message": gettext_noop(
                            "Drop %(field)s of %(dataset)s from the release, or leave it empty "
                            "(rule: leave empty) (k would be %(k)s)."
                        )
                    },
                )
            )
        options.sort(key=lambda o: -o[1])
        advice = []
        headline = gettext_noop(
            "The smallest group of persons sharing the same quasi-identifiers has %(k)s "
            "members; at least %(required)s are required. Tighten a rule:"
        )
        advice.append({"code": "k_too_small", "k": k, **_both(headline, k=k, required=k_required)})
        for code, merged, d, p, extra in options:
            advice.append(
                {
                    "code": code,
                    "dataset": d,
                    "path": p,
                    "k": merged,
                    "enough": merged >= k_required,
                    **_both(extra["message"], field=p, dataset=d, k=merged),
                }
            )
        return advice


def _both(message: str, **params: Any) -> dict[str, str]:
    out = {}
    for lang in ("lv", "en"):
        with translation.override(lang):
            out[lang] = _gettext(message) % params
    return out


def _looks_like_date(classes: Counter[tuple[Any, ...]], i: int) -> bool:
    for cls in classes:
        v = cls[i]
        if v is not None:
            return isinstance(v, str) and len(v) >= 4 and v[:4].isdigit()
    return False


def _merge(classes: Counter[tuple[Any, ...]], i: int, fn: Callable[[Any], Any]) -> int:
    merged: Counter[tuple[Any, ...]] = Counter()
    for cls, n in classes.items():
        merged[(*cls[:i], fn(cls[i]), *cls[i + 1 :])] += n
    return min(merged.values()) if merged else 0


def _intersect(a: array[int], b: array[int]) -> int:
    """How many values of ``b`` occur in ``a`` (both 64-bit hash arrays)."""
    if not a or not b:
        return 0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    lookup = set(small)
    if small is a:
        return sum(1 for h in b if h in lookup)
    found = {h for h in large if h in lookup}
    return sum(1 for h in b if h in found)
