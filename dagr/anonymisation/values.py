"""Keyed, deterministic generators of valid Latvian values, and the address register.

Everything here is a pure function of the release key and the original value, so the same value
gives the same output in every dataset of a release (joins survive), and another key gives
unlinkable output. Keys are namespaced by kind: ``Keyring.sub(kind)`` is HMAC-SHA256(key, kind),
and every value-level hash is HMAC-SHA256(subkey, normalised value).

Identifiers are mapped by **format-preserving bijections without fixed points**, so unique
values stay unique without a collision table:

- old personal code ``DDMMYY-CNNNQ``: an unbalanced Feistel network over (day, first serial
  digit ``a``, last two serial digits ``b``) inside the birth month, with round tables derived
  from the key and the month. Each round changes one component by a keyed function of the
  others (so each round, and the whole, is a permutation). The round that changes ``a`` adds
  1–9 (mod 10): the first serial digit always differs. The round that changes the day rotates
  it within the month by an amount chosen so that its last digit always differs. Every 6-digit
  window of an 11-digit code covers index 1 (the day's last digit) or index 7 (the first serial
  digit), so no 6-character window of the original appears at the same place in the
  replacement. The check digit is recomputed; the new birth date is the person's shifted birth
  date (``birth_date`` fields follow it). Codes dated after 2017-06-30 (never issued) take the
  irregular path below, so no old code is generated after that date.
- new personal code ``32XXXXXXXXQ`` (Q the digit python-stdnum expects): a Feistel network over
  the 8 digits split into ``x4`` (index 5, covered by every 6-window) and the 7 others; the
  round that changes ``x4`` adds 1–9, which makes it a derangement (like σ(x)=P⁻¹(P(x)+1)).
- company registration number: the first 4 digits are kept; the 6 serial digits are split into
  ``s2`` (index 5) and the other five ``r``. A keyed permutation of ``r`` with cycle-walking
  inside its checksum class, then ``s2`` is moved by 2–7 places among the digits the mod-11 rule
  allows for the new ``r`` (ranks differ by at most one between the two allowed sets, so the
  digit always changes and the result is always valid).

A 6-character window may still appear *at another position* by coincidence (about 1 in 10⁵).
Each bijection σ is therefore wrapped in a **swap repair** that stays a bijection: with a
partner involution π, x takes σ(π(x)) instead of σ(x) when x or π(x) is "bad" under σ and both
are good after the exchange (a condition symmetric in x and π(x), so the pair exchanges images
and the map stays one-to-one). The partner differs from x inside every 6-window (old codes: the
day 1↔2, 3↔4, … and the first serial digit xor 1; new codes: x4 xor 1; company numbers: s2 xor 1
when the mod-11 rule allows). What is left (measured on a 1 M-person release: 5 personal codes,
1 company number; months whose digits repeat, such as 11/1931 "11311", leave a handful) is
counted (``unrepaired``) and given a code of the irregular path below instead (a ``32…`` code; a
company number from the keyed hash under the prefix 4999, which no register uses, so it meets
no image of the bijection), which shares no 6-character piece with the original.

Codes that are not of these shapes (a ``32`` code whose last digit is not stdnum's, ``33…39``,
an old code dated after 2017-06-30) get a keyed hash → a valid ``32`` code, with deterministic
collision resolution (an attempt counter and a set of the outputs given so far). Such an output
could in theory equal the bijection's image of another code of the release (one chance in 10⁸
per pair); the engine counts that as a collision in the report.

**Disjoint from the originals.** A bijection of a block maps the block onto itself, so with a
large register an image is, with the density of real codes in the block (a few per cent a birth
month), some OTHER real person's code. The engine therefore reads the original codes of every
dataset of the release first (a pre-pass over the identifier fields only) and calls
``prepare(originals)``, which fixes the output of every original before anything is written
(``_DisjointMap``: sorted originals and their outputs in two ``array('q')``, plus the sorted
outputs — 24 bytes an original code, the only state that grows with the register):

1. where the bijection's image is no original, it is the output (these are distinct);
2. every other original (its image is another original; or the bijection gives none) takes the
   next code on its own cycle of the bijection — so in its birth month, valid, and consistent
   with the shifted birth date — that is no original, no output of step 1, not given already,
   and shares no 6-character piece with it; the originals are taken in ascending order, so the
   assignment is deterministic for one key and one input and one-to-one. When a cycle has no
   such code within 200 steps (it closed on originals, or met a code the bijection cannot
   take), a keyed code of the same block (``_nearby``: a day and serial of the birth month; a
   serial under the company prefix) that passes the same tests; failing 256 of those, the
   irregular path below, avoiding the same sets.

So no output code equals an original code of its kind, whatever the density; the per-record
6-character rule holds by construction for step 1 (the bijections and the swap repair) and is
checked explicitly for step 2 and the irregular path. A value ``prepare`` did not see (none, when
the engine's pre-pass reads the same fields) falls back to the plain bijection and is counted as
a collision when it meets an original or an output of the table.

Address codes are never invented: ``AddressRegister`` replaces a code by another existing code
with the same parent (else one under the same grandparent; else keeps it).
"""

from __future__ import annotations

import bisect
import calendar
import hashlib
import heapq
import hmac
import re
import sys
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import phonenumbers
from stdnum import iban as stdnum_iban

from dagr.core import identifiers, person_names

_OLD_CODES_UNTIL = date(2017, 6, 30)
# the first two digits of the year of an old personal code's century digit (1800 + 100 c)
CENTURY = {"0": "18", "1": "19", "2": "20"}
_COMPANY_WEIGHTS = (9, 1, 4, 8, 3, 10, 2, 5, 7, 6)
_IRREGULAR_COMPANY_PREFIX = "4999"


def _digest(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")


def _h64(key: bytes, message: str) -> int:
    return int.from_bytes(_digest(key, message)[:8], "big")


class Mac:
    """HMAC-SHA256 under one key — the same bytes as ``_digest(key, message)`` — with the
    key's padded inner and outer SHA-256 states computed once (RFC 2104), so that a message
    costs two copies of a state and no re-hashing of the key pads: about half the CPU of
    ``hmac.digest`` for the short messages here (a person's seed, an address code), which
    run once a person or an address."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # the block size of SHA-256: a longer key is hashed first
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, message: str) -> bytes:
        inner = self._inner.copy()
        inner.update(message.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def h64(self, message: str) -> int:
        """The first 8 bytes of the digest as a big-endian integer (as ``_h64``)."""
        return int.from_bytes(self.digest(message)[:8], "big")


def _stream(key: bytes, label: str, size: int) -> bytes:
    """``size`` pseudo-random bytes derived from ``key`` and ``label`` (SHAKE-256)."""
    return hashlib.shake_256(_digest(key, label)).digest(size)


def _table(key: bytes, label: str, size: int, modulus: int) -> array[int]:
    raw = _stream(key, label, size * 4)
    # the same big-endian 32-bit words as int.from_bytes(raw[i : i + 4], "big"), read at once
    # (a fixed cost of every release: 11 tables, 300,000 words)
    words = array("I")  # 4 bytes an item on every platform CPython supports
    words.frombytes(raw)
    if sys.byteorder == "little":
        words.byteswap()
    return array("I", [w % modulus for w in words])


def shares_window(original: str, output: str, width: int = 6) -> bool:
    """Whether ``output`` contains any ``width``-character substring of ``original``."""
    if width == 6 and len(original) == 11:  # a code: its six windows in one expression
        return (
            original[0:6] in output
            or original[1:7] in output
            or original[2:8] in output
            or original[3:9] in output
            or original[4:10] in output
            or original[5:11] in output
        )
    for i in range(len(original) - width + 1):  # noqa: SIM110 (a loop is faster than any())
        if original[i : i + width] in output:
            return True
    return False


class SortedIndex:
    """Where an integer is in a sorted array of integers: the value range is cut into at most
    2**16 buckets (a power of two wide) and a bisect runs only inside the bucket's slice —
    on the large tables (a million codes: 8 MB) a bisect of the whole array misses the cache
    at most of its ~20 steps (1.58 → 1.03 µs a lookup measured on 1 M codes under load).
    The starts take 8 bytes a bucket (≤ 512 kB)."""

    __slots__ = ("_buckets", "_lo", "_shift", "_starts", "values")

    def __init__(self, values: array[int], bits: int = 16) -> None:
        self.values = values
        if not values:
            self._lo, self._shift, self._buckets, self._starts = 0, 0, 0, array("q", [0])
            return
        lo = self._lo = values[0]
        span = values[-1] - lo + 1
        shift = self._shift = max(0, (span - 1).bit_length() - bits)
        self._buckets = ((span - 1) >> shift) + 1
        # bucket k holds the values in [lo + k·2**shift, lo + (k + 1)·2**shift)
        self._starts = array(
            "q",
            [bisect.bisect_left(values, lo + (k << shift)) for k in range(self._buckets)]
            + [len(values)],
        )

    def find(self, x: int) -> int:
        """The index of ``x`` in the array, -1 when it is not there."""
        k = (x - self._lo) >> self._shift
        if k < 0 or k >= self._buckets:
            return -1
        starts = self._starts
        hi = starts[k + 1]
        i = bisect.bisect_left(self.values, x, starts[k], hi)
        return i if i < hi and self.values[i] == x else -1


def _in_sorted(values: array[int], x: int) -> bool:
    i = bisect.bisect_left(values, x)
    return i < len(values) and values[i] == x


def _code_ints(codes: Iterable[str | int]) -> array[int]:
    """The distinct 11-digit codes among ``codes`` (strings, or integers already) as a sorted
    array of integers (8 bytes a code; a value of another shape can never equal a generated
    code, which always has 11 digits)."""
    if not isinstance(codes, array):
        codes = array(
            "q",
            (
                c if isinstance(c, int) else int(c)
                for c in codes
                if isinstance(c, int) or _digits11(c)
            ),
        )
    return _sorted_unique(codes)


_SORT_CHUNK = 1 << 16


def _sorted_unique(values: array[int]) -> array[int]:
    """``values`` sorted without repeats, in flat memory: chunks of 65,536 are sorted (the only
    Python integers alive at a time) and merged into an array of 8 bytes a value."""
    chunks = [
        array("q", sorted(values[i : i + _SORT_CHUNK])) for i in range(0, len(values), _SORT_CHUNK)
    ]
    out = array("q")
    append = out.append
    last = None
    for v in heapq.merge(*chunks):
        if v != last:
            append(v)
            last = v
    return out


def _merged(values: array[int], extra: list[int]) -> array[int]:
    """The sorted ``values`` with the sorted ``extra`` (none of them in ``values``; usually
    few) inserted: slices of ``values`` between the insertion points, copied at C speed."""
    out = array("q")
    start = 0
    for x in extra:
        i = bisect.bisect_left(values, x, start)
        out.extend(values[start:i])
        out.append(x)
        start = i
    out.extend(values[start:])
    return out


def _digits11(code: str) -> bool:
    return len(code) == 11 and code.isdigit()


class _DisjointMap:
    """The release's table original → output of one kind of code, fixed before any output is
    written so that **no output is an original value of its kind** (see the module docstring,
    "Disjoint from the originals"): sorted originals and their images in parallel arrays, plus
    the sorted images (for the fallback path of a value the pre-pass did not see) — 24 bytes an
    original code."""

    def __init__(
        self,
        originals: array[int],
        regular: Callable[[str], str | None],
        step: Callable[[str], str | None],
        irregular: Callable[[str, Callable[[int], bool]], str],
        nearby: Callable[[str, int], str | None],
        counted: Any,
        mapper: Mapper | None = None,
    ) -> None:
        """``regular``: the bijection (None where it gives no output), counting in ``counted``
        (``repaired``, ``unrepaired``, ``collisions``); ``step``: the same, uncounted (a step of
        the walk); ``nearby``: the keyed ``attempt``-th valid code of the same block (None:
        none); ``irregular``: the last fallback, avoiding what ``free`` refuses; ``mapper``:
        runs step 1 on ranges of the originals (e.g. in worker processes; None: here)."""
        self.originals = originals
        # built before the mapper forks: its ranges look up every image among the originals
        where = self._where = SortedIndex(originals).find
        n = len(originals)
        names = ("repaired", "unrepaired", "collisions")

        def images_of(lo: int, hi: int) -> tuple[array[int], tuple[int, ...]]:
            """Step 1 for ``originals[lo:hi]``, and what it counted (the counters are left as
            they were: the caller adds what every range counted, wherever it ran)."""
            before = tuple(getattr(counted, name) for name in names)
            part = array("q", [-1]) * (hi - lo)
            for i in range(lo, hi):
                out = regular(f"{originals[i]:011d}")
                if out is not None:
                    y = int(out)
                    if where(y) < 0:
                        part[i - lo] = y
            delta = tuple(getattr(counted, name) - b for name, b in zip(names, before, strict=True))
            for name, b in zip(names, before, strict=True):
                setattr(counted, name, b)
            return part, delta

        # 1. the bijection's image, where it is no original (the bijection is one-to-one, so
        #    these images are distinct); a pure function of the key and the code, so the ranges
        #    can run anywhere
        parts = (mapper or _map_here)(images_of, n)
        for _part, delta in parts:
            for name, d in zip(names, delta, strict=True):
                setattr(counted, name, getattr(counted, name) + d)
        if len(parts) == 1:  # no copy (8 bytes an original)
            images = parts[0][0]
        else:
            images = array("q")
            for part, _delta in parts:
                images.extend(part)
        del parts
        taken = _sorted_unique(array("q", (y for y in images if y >= 0)))
        given: set[int] = set()

        def free(y: int) -> bool:
            return not (where(y) >= 0 or _in_sorted(taken, y) or y in given)

        # 2. the displaced (the bijection's image is another original, or there is none): the
        #    next free code on the bijection's own cycle, in the order of the originals (so the
        #    assignment is deterministic and one-to-one); else the irregular path
        self.walked = 0
        self.irregular = 0
        for i, x in enumerate(originals):
            if images[i] >= 0:
                continue
            code = f"{x:011d}"
            out = step(code)
            found = None
            steps = 0
            while out is not None and steps < _WALK_LIMIT:
                y = int(out)
                if free(y) and not shares_window(code, out):
                    found = y
                    break
                out = step(out)
                steps += 1
            attempt = 0
            while found is None and attempt < _NEARBY_ATTEMPTS:
                # the cycle ran out (it closed on originals, or met a code the bijection cannot
                # take): keyed codes of the same block
                near = nearby(code, attempt)
                if near is not None and free(int(near)) and not shares_window(code, near):
                    found = int(near)
                attempt += 1
            if found is None:
                found = int(irregular(code, free))
                self.irregular += 1
            else:
                self.walked += 1
            images[i] = found
            given.add(found)
        self.images = images
        # every image: those of step 1 (``taken``) and those of step 2 (``given``, none of them
        # in ``taken``) — the two sorted lists merged, not the whole table sorted again
        self.all_images = _merged(taken, sorted(given))

    def get(self, code: str) -> str | None:
        if len(code) != 11 or not code.isdigit():
            return None
        i = self._where(int(code))
        if i >= 0:
            return f"{self.images[i]:011d}"
        return None

    def meets(self, out: str) -> bool:
        """Whether ``out`` (from the fallback path) is an original or an image of the table."""
        y = int(out)
        return _in_sorted(self.originals, y) or _in_sorted(self.all_images, y)


# runs ``fn(lo, hi)`` over consecutive ranges covering ``range(n)``; the results in order
Mapper = Callable[[Callable[[int, int], Any], int], list[Any]]


def _map_here(fn: Callable[[int, int], Any], n: int) -> list[Any]:
    return [fn(0, n)]


_WALK_LIMIT = 200
_NEARBY_ATTEMPTS = 256


class Keyring:
    """Sub-keys of the release key, one per kind (HMAC-SHA256(key, kind))."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the release key must have at least 16 bytes")
        self.key = key
        self._subs: dict[str, bytes] = {}

    def sub(self, kind: str) -> bytes:
        found = self._subs.get(kind)
        if found is None:
            found = self._subs[kind] = _digest(self.key, f"dagr-anon/{kind}")
        return found

    def h64(self, kind: str, value: str) -> int:
        return _h64(self.sub(kind), value)


# --- personal codes ------------------------------------------------------------------------------


def _pc_check(first_ten: str) -> str:
    """The personal code's check digit (``identifiers.personal_code_check_digit``, unrolled:
    it runs twice for every personal code of a release)."""
    b = first_ten.encode()
    total = (
        b[0]
        + 6 * b[1]
        + 3 * b[2]
        + 7 * b[3]
        + 9 * b[4]
        + 10 * b[5]
        + 5 * b[6]
        + 8 * b[7]
        + 4 * b[8]
        + 2 * b[9]
        - 48 * 55
    )
    return "0123456789"[(1101 - total) % 11 % 10]


def _flip_day(d: int, days: int) -> int:
    """The partner day of the swap repair: 1↔2, 3↔4, …, (a last odd day stays)."""
    other = ((d - 1) ^ 1) + 1
    return other if other <= days else d


class PersonalCodes:
    """The personal-code bijection of one release (see the module docstring)."""

    def __init__(self, keys: Keyring) -> None:
        self._key = keys.sub("personal_code")
        self._months: dict[
            str, tuple[bytes, bytes, bytes, bytes, tuple[int, ...], int, bool, int]
        ] = {}
        k = self._key
        self._n1 = _table(k, "new/1", 10 * 1000, 10000)
        self._n2 = _table(k, "new/2", 10 * 10000, 1000)
        self._n3 = _table(k, "new/3", 65536, 9)
        self._n4 = _table(k, "new/4", 10 * 1000, 10000)
        self._n5 = _table(k, "new/5", 10 * 10000, 1000)
        self._irregular: dict[str, str] = {}
        self._irregular_used: set[str] = set()
        self.repaired = 0
        self.unrepaired = 0
        self.collisions = 0  # a regular image equal to an earlier irregular output
        self._last_in = ""
        self._last_out = ""
        self._raw = False  # inside ``prepare``: the bijection only (None where it fails)
        self._map: _DisjointMap | None = None

    def prepare(self, originals: Iterable[str | int], mapper: Mapper | None = None) -> None:
        """Fix, before any output, the image of every original personal code of the release
        (normalised values) so that no image is an original (see the module docstring).
        ``mapper``: where the bijection of every original runs (``_DisjointMap``)."""
        self._raw = True
        try:
            self._map = _DisjointMap(
                _code_ints(originals),
                self.regular,
                self._quiet,
                self._irregular_code,
                self._nearby,
                self,
                mapper,
            )
        finally:
            self._raw = False

    def _quiet(self, code: str) -> str | None:
        """The bijection's image of a code that is not an original (a step of the walk):
        not counted as repaired or unrepaired."""
        counts = self.repaired, self.unrepaired, self.collisions
        out = self.regular(code)
        self.repaired, self.unrepaired, self.collisions = counts
        return out

    def _nearby(self, code: str, attempt: int) -> str | None:
        """The keyed ``attempt``-th code of ``code``'s birth month (None for a ``32`` code or a
        month that is not issuable: the irregular path gives those a ``32`` code)."""
        if code[:2] == "32":
            return None
        block = code[2:7]
        days, issuable = self._month(block)[5:7]
        if not days or not issuable:
            return None
        h = _h64(self._key, f"nearby/{attempt}/{code}")
        first_ten = f"{h % days + 1:02d}{block}{(h >> 16) % 1000:03d}"
        return first_ten + _pc_check(first_ten)

    @property
    def displaced(self) -> int:
        """Originals whose bijection image was another original: given the next free code."""
        return self._map.walked if self._map is not None else 0

    # old format ---------------------------------------------------------------------------------
    def _month(
        self, block: str
    ) -> tuple[bytes, bytes, bytes, bytes, tuple[int, ...], int, bool, int]:
        """Round tables, rotations, days and "issuable" (not after 2017-06) of a month block
        ``MMYYC``; ``days`` is 0 for a block that is no real month."""
        found = self._months.get(block)
        if found is None:
            month = int(block[:2])
            year = 1800 + 100 * int(block[4]) + int(block[2:4])
            days = calendar.monthrange(year, month)[1] if 1 <= month <= 12 else 0
            raw = _stream(self._key, f"old/{block}", 320 + 3200 + 1000 + 320)
            rotations = tuple(c for c in range(1, days) if c % 10 and (c - days) % 10)
            issuable = (year, month) <= (_OLD_CODES_UNTIL.year, _OLD_CODES_UNTIL.month)
            weighted = sum(w * int(c) for w, c in zip((3, 7, 9, 10, 5), block, strict=True))
            found = (
                raw[:320],
                raw[320:3520],
                raw[3520:4520],
                raw[4520:4840],
                rotations,
                days,
                issuable,
                weighted,
            )
            self._months[block] = found
        return found

    def _old(
        self,
        d: int,
        a: int,
        b: int,
        block: str,
        month: tuple[bytes, bytes, bytes, bytes, tuple[int, ...], int, bool, int],
    ) -> str:
        """The Feistel rounds of ``(d, a, b)`` in ``block`` (``month``: its ``_month``)."""
        t1, t2, t3, t4, rot, days, _issuable, weighted = month
        b = (b + t1[d * 10 + a]) % 100
        a = (a + 1 + t2[d * 100 + b] % 9) % 10
        d = (d - 1 + rot[t3[a * 100 + b] % len(rot)]) % days + 1
        b = (b + t4[d * 10 + a]) % 100
        # the check digit from the numbers (weights 1,6 | 3,7,9,10,5 | 8,4,2)
        total = d // 10 + 6 * (d % 10) + weighted + 8 * a + 4 * (b // 10) + 2 * (b % 10)
        return f"{d:02d}{block}{a}{b:02d}{(1101 - total) % 11 % 10}"

    def _old_repaired(self, code: str) -> str | None:
        block = code[2:7]
        month = self._month(block)
        days, issuable = month[5], month[6]
        d = int(code[:2])
        if not issuable or not 1 <= d <= days or _pc_check(code[:10]) != code[10]:
            return None
        a = int(code[7])
        b = int(code[8:10])
        out, bad = self._old_layer1(code, d, a, b, block, month)
        if bad:
            # what the swap repair cannot fix (months whose digits repeat, such as 11/1931
            # "11311", leave a few) takes the irregular path: a 32… code
            self.unrepaired += 1
            return None if self._raw else self._irregular_code(code)
        return out

    def _old_layer1(
        self,
        code: str,
        d: int,
        a: int,
        b: int,
        block: str,
        month: tuple[bytes, bytes, bytes, bytes, tuple[int, ...], int, bool, int],
    ) -> tuple[str, bool]:
        """``code`` (valid, of day ``d``, serial digits ``a``, ``b`` and month ``block``,
        whose ``_month`` is ``month``) through the first layer; and whether the output still
        shares a 6-character window with ``code`` (``_swap``)."""
        days, weighted = month[5], month[7]
        out = self._old(d, a, b, block, month)
        # the partner differs in the day's last digit and the first serial digit, so it shares
        # no 6-window with ``code`` at the same place; its check digit from the numbers (as
        # in ``_old``)
        pd, pa = _flip_day(d, days), a ^ 1
        total = pd // 10 + 6 * (pd % 10) + weighted + 8 * pa + 4 * (b // 10) + 2 * (b % 10)
        partner = f"{pd:02d}{block}{pa}{b:02d}{(1101 - total) % 11 % 10}"
        return self._swap(code, out, partner, self._old(pd, pa, b, block, month))

    def _swap(self, code: str, out: str, partner: str, partner_out: str) -> tuple[str, bool]:
        """The swap repair (a bijection: ``code`` and ``partner`` exchange images only when
        either is bad and both are good after the exchange — a symmetric condition); and
        whether the image it gives shares a 6-character window with ``code`` (known here: the
        caller need not test it again)."""
        bad = shares_window(code, out)
        if (bad or shares_window(partner, partner_out)) and not (
            shares_window(code, partner_out) or shares_window(partner, out)
        ):
            if bad:
                self.repaired += 1
            return partner_out, False  # the exchange asks ``code`` and ``partner_out`` good
        return out, bad

    # new format ---------------------------------------------------------------------------------
    def _new(self, u: int, t: int, v: int) -> str:
        v = (v + self._n1[t * 1000 + u]) % 10000
        u = (u + self._n2[t * 10000 + v]) % 1000
        t = (t + 1 + self._n3[(u * 10007 + v) % 65536]) % 10
        v = (v + self._n4[t * 1000 + u]) % 10000
        u = (u + self._n5[t * 10000 + v]) % 1000
        first_ten = f"32{u:03d}{t}{v:04d}"
        return first_ten + _pc_check(first_ten)

    def _new_repaired(self, code: str) -> str | None:
        if _pc_check(code[:10]) != code[10]:
            return None
        u, t, v = int(code[2:5]), int(code[5]), int(code[6:10])
        out = self._new(u, t, v)
        first_ten = f"32{u:03d}{t ^ 1}{v:04d}"  # differs at index 5, inside every 6-window
        partner = first_ten + _pc_check(first_ten)
        out, bad = self._swap(code, out, partner, self._new(u, t ^ 1, v))
        if bad:
            self.unrepaired += 1
            return None if self._raw else self._irregular_code(code)
        return out

    def regular(self, code: str) -> str | None:
        """The bijection's image, or None when ``code`` is not of a regular shape."""
        if len(code) != 11 or not code.isdigit():
            return None
        if code[0] == "3" and code[1] == "2":
            out = self._new_repaired(code)
        elif code[0] <= "3" and code[6] in "012":
            out = self._old_repaired(code)
        else:
            return None
        if (
            out is not None
            and self._irregular_used
            and out in self._irregular_used
            and self._irregular.get(code) != out  # not this code's own irregular output
        ):
            self.collisions += 1
        return out

    def pseudonymise(self, value: str) -> str:
        if value == self._last_in:  # the birth date of the same person asks right after
            return self._last_out
        code = value if len(value) == 11 else identifiers.normalise("personal_code", value)
        table = self._map
        out = table.get(code) if table is not None else None
        if out is None:
            out = self.regular(code)
            if out is None:
                out = self._irregular_code(code)
            if table is not None and table.meets(out):
                self.collisions += 1  # a value the pre-pass did not see met the table
        self._last_in, self._last_out = value, out
        return out

    def birth_date(self, output_code: str) -> str | None:
        """ISO birth date of an (output) old-format code; None for the new format."""
        if output_code[0] == "3" and output_code[1] == "2":
            return None
        century = CENTURY.get(output_code[6])  # the usual codes: the text from slices
        if century is not None:
            return f"{century}{output_code[4:6]}-{output_code[2:4]}-{output_code[:2]}"
        year = 1800 + 100 * int(output_code[6]) + int(output_code[4:6])
        return f"{year:04d}-{output_code[2:4]}-{output_code[:2]}"

    def _irregular_code(self, code: str, free: Callable[[int], bool] | None = None) -> str:
        found = self._irregular.get(code)
        if found is not None:
            return found
        attempt = 0
        while True:
            n = _h64(self._key, f"irregular/{attempt}/{code}") % 100_000_000
            first_ten = f"32{n:08d}"
            out = first_ten + _pc_check(first_ten)
            if (
                out not in self._irregular_used
                and not shares_window(code, out)
                and (free is None or free(int(out)))
            ):
                break
            attempt += 1
        self._irregular_used.add(out)
        self._irregular[code] = out
        return out

    @property
    def irregular_outputs(self) -> set[str]:
        return self._irregular_used


# --- company registration numbers ----------------------------------------------------------------


def _company_forbidden(prefix_sum: int, r: int) -> int:
    """The one ``s2`` digit the mod-11 rule forbids for serial rest ``r`` (10: none)."""
    return (prefix_sum + _R_RESIDUES[r]) % 11


def _residue(r: int) -> int:
    s1, s3, s4, s5, s6 = (r // 10000, r // 1000 % 10, r // 100 % 10, r // 10 % 10, r % 10)
    return (3 * s1 + 2 * s3 + 5 * s4 + 7 * s5 + 6 * s6 - 4) % 11


# the weighted sum (mod 11, minus 4) of the five serial digits other than s2, for every value
_R_RESIDUES = bytes(_residue(r) for r in range(100_000))
_ALLOWED = tuple(tuple(d for d in range(10) if d != f) for f in range(11))
_RANK = tuple({d: i for i, d in enumerate(allowed)} for allowed in _ALLOWED)


def _company_check(first_ten: str) -> str:
    b = first_ten.encode()
    total = (
        9 * b[0]
        + b[1]
        + 4 * b[2]
        + 8 * b[3]
        + 3 * b[4]
        + 10 * b[5]
        + 2 * b[6]
        + 5 * b[7]
        + 7 * b[8]
        + 6 * b[9]
        - 48 * 55
    )
    return "0123456789X"[(3 - total) % 11]


class CompanyCodes:
    """The company-number bijection of one release (see the module docstring)."""

    def __init__(self, keys: Keyring) -> None:
        self._key = keys.sub("company_code")
        self._prefixes: dict[str, tuple[array[int], array[int], array[int], bytes, int]] = {}
        self.repaired = 0
        self.unrepaired = 0  # codes the swap repair could not fix: given an irregular number
        self.collisions = 0
        self._irregular_out: dict[str, str] = {}
        self._irregular_used: set[str] = set()
        self._map: _DisjointMap | None = None

    def prepare(
        self,
        originals: Iterable[str | int],
        irregular: Iterable[str] = (),
        mapper: Mapper | None = None,
    ) -> None:
        """Fix, before any output, the image of every original company number of the release
        (normalised values) so that no image is an original (see the module docstring).

        ``irregular``: the digits of VAT numbers that are neither a company number nor a
        personal code; their numbers of the irregular path are given here, in sorted order
        (they resolve collisions in the order met, so fixing them before any output makes the
        output independent of the order in which records are transformed)."""
        table = self._map = _DisjointMap(
            _code_ints(originals),
            self._raw,
            self._quiet,
            self._irregular,
            self._nearby,
            self,
            mapper,
        )

        def free(y: int) -> bool:
            return not table.meets(f"{y:011d}")

        for code in sorted(set(irregular)):
            self._irregular(code, free)

    def _nearby(self, code: str, attempt: int) -> str | None:
        """The keyed ``attempt``-th valid number under ``code``'s prefix (None: the checksum
        allows none for that serial)."""
        n = _h64(self._key, f"nearby/{attempt}/{code}") % 1_000_000
        return identifiers.make_company_code(n, prefix=code[:4])

    def _raw(self, code: str) -> str | None:
        """The repaired bijection's image; None for an invalid or unrepaired number."""
        if not identifiers.is_valid_company_code(code):
            return None
        out = self._layer1(code)
        if shares_window(code, out):
            self.unrepaired += 1
            return None
        return out

    def _quiet(self, code: str) -> str | None:
        counts = self.repaired, self.unrepaired
        out = self._raw(code)
        self.repaired, self.unrepaired = counts
        return out

    @property
    def displaced(self) -> int:
        return self._map.walked if self._map is not None else 0

    def _tables(self, prefix: str) -> tuple[array[int], array[int], array[int], bytes, int]:
        found = self._prefixes.get(prefix)
        if found is None:
            k = self._key
            prefix_sum = sum(w * int(d) for w, d in zip(_COMPANY_WEIGHTS, prefix, strict=False))
            found = (
                _table(k, f"{prefix}/1", 100, 1000),
                _table(k, f"{prefix}/2", 1000, 100),
                _table(k, f"{prefix}/3", 100, 1000),
                _stream(k, f"{prefix}/4", 65536),
                prefix_sum,
            )
            self._prefixes[prefix] = found
        return found

    def _sigma(self, code: str) -> str:
        prefix = code[:4]
        g1, g2, g3, g4, psum = self._tables(prefix)
        residues = _R_RESIDUES
        s2 = ord(code[5]) - 48
        r = int(code[4] + code[6:10])
        f = (psum + residues[r]) % 11
        full = f == 10
        y = r
        while True:  # cycle-walking inside the class (all ten s2 allowed / nine allowed)
            hi, lo = divmod(y, 1000)
            lo = (lo + g1[hi]) % 1000
            hi = (hi + g2[lo]) % 100
            lo = (lo + g3[hi]) % 1000
            y = hi * 1000 + lo
            f2 = (psum + residues[y]) % 11
            if (f2 == 10) is full:
                break
        allowed_new = _ALLOWED[f2]
        rank = _RANK[f][s2]
        s2_new = allowed_new[(rank + 2 + g4[y & 0xFFFF] % 6) % len(allowed_new)]
        ys = f"{y:05d}"
        first_ten = f"{prefix}{ys[0]}{s2_new}{ys[1:]}"
        return first_ten + _company_check(first_ten)

    def _partner(self, code: str, move: int) -> str | None:
        """The swap repair's partner: another ``s2`` (index 5, inside every 6-window) — ``s2
        xor 1`` for the first layer, ``s2 + 5`` for the second (both involutions) — when the
        mod-11 rule allows it (a symmetric condition); None otherwise."""
        psum = self._tables(code[:4])[4]
        s2 = int(code[5])
        other = s2 ^ 1 if move == 1 else (s2 + 5) % 10
        if other == _company_forbidden(psum, int(code[4] + code[6:10])):
            return None
        first_ten = f"{code[:5]}{other}{code[6:10]}"
        return first_ten + _company_check(first_ten)

    def _swap(self, code: str, sigma: Callable[[str], str], move: int) -> str:
        """One layer of the swap repair around ``sigma`` (see PersonalCodes._swap)."""
        out = sigma(code)
        partner = self._partner(code, move)
        if partner is None:
            return out
        partner_out = sigma(partner)
        if (shares_window(code, out) or shares_window(partner, partner_out)) and not (
            shares_window(code, partner_out) or shares_window(partner, out)
        ):
            self.repaired += 1
            return partner_out
        return out

    def _layer1(self, code: str) -> str:
        return self._swap(code, self._sigma, 1)

    def pseudonymise(self, value: str) -> str:
        code = (
            value
            if len(value) == 11 and value.isdecimal()  # the stored form already
            else identifiers.normalise("company_code", value)
        )
        table = self._map
        if table is not None:
            found = table.get(code)
            if found is not None:
                return found
            out = self._pseudonymise(code)
            if table.meets(out):
                self.collisions += 1  # a value the pre-pass did not see met the table
            return out
        return self._pseudonymise(code)

    def _pseudonymise(self, code: str) -> str:
        if not identifiers.is_valid_company_code(code):
            return self._irregular(code)
        out = self._layer1(code)
        if shares_window(code, out):
            self.unrepaired += 1
            return self._irregular(code)
        if self._irregular_used and out in self._irregular_used:
            self.collisions += 1  # only when the input itself uses the reserved prefix
        return out

    def _irregular(self, code: str, free: Callable[[int], bool] | None = None) -> str:
        """A keyed valid number for a code the bijection cannot take, unique among these
        (attempt counter + a set of the outputs given); ``free``: what else it must avoid."""
        found = self._irregular_out.get(code)
        if found is not None:
            return found
        attempt = 0
        while True:
            n = _h64(self._key, f"irregular/{attempt}/{code}") % 1_000_000
            # a prefix no register uses, so that these never meet the bijection's images
            out = identifiers.make_company_code(n, prefix=_IRREGULAR_COMPANY_PREFIX)
            if (
                out is not None
                and out not in self._irregular_used
                and not shares_window(code, out)
                and (free is None or free(int(out)))
            ):
                break
            attempt += 1
        self._irregular_used.add(out)
        self._irregular_out[code] = out
        return out


# --- address register ----------------------------------------------------------------------------


class AddressRegister:
    """The (code, parent) pairs of the address register in compact arrays (about 20 bytes an
    address: a million addresses take ~20 MB, not the ~300 MB of a dict of objects).

    ``replace(code)`` gives another existing code with the same parent, chosen by the keyed hash
    (never the code itself); with no sibling, a code under the same grandparent; else the code
    itself (counted in ``kept_alone``). Codes not in the register are kept and counted in
    ``unknown`` — an address code is never invented.
    """

    def __init__(self, pairs: Iterable[tuple[str, str | None]], key: bytes = b"") -> None:
        raw: list[tuple[int, int]] = []
        for code, parent in pairs:
            c = _as_int(code)
            if c is None:
                continue
            p = _as_int(parent) if parent else None
            raw.append((c, -1 if p is None else p))
        raw.sort()
        self.codes = array("q", (c for c, _p in raw))
        parent_codes = [p for _c, p in raw]
        del raw
        n = len(self.codes)
        where = self._where = SortedIndex(self.codes).find
        self.parent = array("i", [-1]) * n
        for i, p in enumerate(parent_codes):
            if p >= 0:
                j = where(p)
                if j >= 0:
                    self.parent[i] = j
        del parent_codes
        # children grouped by parent: ``order`` lists indices sorted by parent index
        order = sorted(range(n), key=self.parent.__getitem__)
        self.order = array("i", order)
        # the children of parent index p are ``order[starts[p]:starts[p + 1]]`` (found without
        # a search: 4 bytes an address)
        starts = array("i", [0]) * (n + 1)
        for p in self.parent:
            if p >= 0:
                starts[p + 1] += 1
        running = n - sum(starts)  # the addresses without a parent come first in ``order``
        for p in range(n + 1):
            running += starts[p]
            starts[p] = running
        self.starts = starts
        # the top-level unit of each address
        top = array("i", [-2]) * n
        for i in range(n):
            path: list[int] = []
            j = i
            while j >= 0 and top[j] == -2 and len(path) <= 64:
                path.append(j)
                j = self.parent[j]
            root = top[j] if j >= 0 and top[j] != -2 else (path[-1] if path else i)
            for k in path:
                top[k] = root
        self.top = top
        self._key = key
        self._mac = Mac(key)
        self.unknown = 0
        self.kept_alone = 0
        self._replaced: array[int] | None = None
        self._top_text: dict[int, str] = {}
        self._last_out = ""  # the last output of ``replace`` and its index
        self._last_index = -1

    def __len__(self) -> int:
        return len(self.codes)

    def index(self, code: str) -> int:
        c = _as_int(code)
        if c is None:
            return -1
        return self._where(c)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.index(code) >= 0

    def children(self, parent_index: int) -> array[int]:
        return self.order[self.starts[parent_index] : self.starts[parent_index + 1]]

    def territory(self, code: str) -> str | None:
        """The code of the top-level unit containing ``code`` (None: not in the register)."""
        # the usual call asks for the code ``replace`` has just returned: its index is known
        i = self._last_index if code == self._last_out else self.index(code)
        if i < 0:
            return None
        top = self.top[i]
        found = self._top_text.get(top)  # a few hundred territories: their codes as text
        if found is None:
            found = self._top_text[top] = f"{self.codes[top]:09d}"
        return found

    def parent_of(self, code: str) -> str | None:
        i = self.index(code)
        if i < 0 or self.parent[i] < 0:
            return None
        return f"{self.codes[self.parent[i]]:09d}"

    def replace(self, code: str) -> str:
        i = self.index(code)
        if i < 0:
            self.unknown += 1
            return code
        if self._replaced is None:  # 4 bytes an address: each is chosen once
            self._replaced = array("i", [-2]) * len(self.codes)
        known = self._replaced[i]
        if known >= 0:
            out = self._last_out = f"{self.codes[known]:09d}"
            self._last_index = known
            return out
        j = self._replace(code, i)
        if j == i:  # kept alone (counted once a call, as before)
            self._last_out, self._last_index = code, i
            return code
        self._replaced[i] = j
        out = self._last_out = f"{self.codes[j]:09d}"
        self._last_index = j
        return out

    def _replace(self, code: str, i: int) -> int:
        """The index of the replacement of ``code`` (at index ``i``); ``i``: kept alone."""
        p = self.parent[i]
        choice = self._mac.h64(f"address/{code}")
        if p >= 0:
            # the siblings are ``order[lo:hi]`` (read in place: a street can have hundreds)
            lo, hi = self.starts[p], self.starts[p + 1]
            if hi - lo > 1:
                pick = self.order[lo + choice % (hi - lo - 1)]
                if pick == i:
                    pick = self.order[hi - 1]
                return pick
            g = self.parent[p]
            if g >= 0:
                cousins = [
                    c for uncle in self.children(g) if uncle != p for c in self.children(uncle)
                ]
                if cousins:
                    return cousins[choice % len(cousins)]
        self.kept_alone += 1
        return i


def _as_int(code: object) -> int | None:
    if type(code) is str and code.isdecimal() and len(code) <= 18:  # the usual case, fast
        return int(code)
    text = str(code).strip() if code is not None else ""
    return int(text) if text.isdigit() and len(text) <= 18 else None


# --- names ---------------------------------------------------------------------------------------

_MALE_FIRST = frozenset(person_names.FIRST_NAMES_MALE)
_FEMALE_FIRST = frozenset(person_names.FIRST_NAMES_FEMALE)
_MALE_WORDS = {"male", "m", "v", "vīrietis", "virietis", "vīr", "man", "1"}
_GENDER_SEEN: dict[str, str] = {}  # a gender field's raw text → "m"/"f" (the words say)
_FEMALE_WORDS = {"female", "f", "s", "sieviete", "siev", "woman", "2"}


def gender_of(gender_value: object = None, first_name: object = None) -> str:
    """``"m"`` or ``"f"``: from a gender field's value if it says, else from the first name
    (list membership, then Latvian endings: -s/-š/-is/-us are male)."""
    if gender_value is not None:
        found = _GENDER_SEEN.get(gender_value) if type(gender_value) is str else None
        if found is not None:
            return found
        word = str(gender_value).strip().lower()
        if word in _MALE_WORDS or word in _FEMALE_WORDS:
            found = "m" if word in _MALE_WORDS else "f"
            if type(gender_value) is str and len(_GENDER_SEEN) < 1000:
                _GENDER_SEEN[gender_value] = found  # a handful of spellings in a register
            return found
    if first_name:
        name = str(first_name).strip().split(" ")[0]
        if name in _MALE_FIRST:
            return "m"
        if name in _FEMALE_FIRST:
            return "f"
        if name.lower().endswith(("s", "š")):
            return "m"
        if name.lower().endswith(("a", "e")):
            return "f"
    return "f"


NAME_LISTS = {
    ("first", "m"): person_names.FIRST_NAMES_MALE,
    ("first", "f"): person_names.FIRST_NAMES_FEMALE,
    ("last", "m"): person_names.LAST_NAMES_MALE,
    ("last", "f"): person_names.LAST_NAMES_FEMALE,
}


class Names:
    """Gender-consistent Latvian names seeded by the person (the same person gets the same fake
    name in every dataset of a release)."""

    def __init__(self, keys: Keyring) -> None:
        self._key = keys.sub("name")
        # ``person(seed)``: 32 keyed bytes of a person (HMAC-SHA256 of the person's seed):
        # bytes 0–7 pick the first name, 8–15 the last name, 16–23 the birth-date shift (the
        # key's ``Mac.digest`` itself: one call a person, no wrapper)
        self.person: Callable[[str], bytes] = Mac(self._key).digest

    def name(
        self, part: str, gender: str, person: str, original: object, pick: int | None = None
    ) -> str:
        """``part`` "first" or "last"; never the original, and sharing no 6-character window
        with it. ``pick``: the person's keyed number for this part (else derived here)."""
        options = NAME_LISTS[(part, gender)]
        if pick is None:
            raw = self.person(person)
            pick = int.from_bytes(raw[:8] if part == "first" else raw[8:16], "big")
        return choose_name(options, original, pick)

    def full_name(self, gender: str, person: str, original: object) -> str:
        text = str(original or "")
        parts = text.split()
        first = self.name("first", gender, person, parts[0] if parts else "")
        last = self.name("last", gender, person, parts[-1] if parts else "")
        out = f"{first} {last}"
        return out if not shares_window(text, out) else first


def choose_name(options: Sequence[str], original: object, pick: int) -> str:
    """The name of ``options`` that ``pick`` chooses for a person whose name is ``original``:
    never the original, and sharing no 6-character window with it (``Names.name``)."""
    text = original if type(original) is str else str(original or "")
    n = len(options)
    if len(text) < 6:  # no 6-character piece to share: only "not the same name"
        candidate = options[pick % n]
        return candidate if candidate != text else options[(pick + 1) % n]
    for step in range(n):
        candidate = options[(pick + step) % n]
        if candidate != text and not shares_window(text, candidate):
            return candidate
    return options[pick % len(options)] + "a"  # unreachable with real lists


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-")).lower()


# --- other keyed values --------------------------------------------------------------------------


def _valid_phone(number: str) -> bool:
    return bool(phonenumbers.is_valid_number(phonenumbers.parse(number)))


class Values:
    """Keyed fakes of e-mails, phones, IBANs, postcodes, VAT numbers and free strings."""

    def __init__(self, keys: Keyring, personal: PersonalCodes, companies: CompanyCodes) -> None:
        self._keys = keys
        self._personal = personal
        self._companies = companies
        self._macs: dict[str, Mac] = {}

    def _pick(self, kind: str, original: str, make: object, valid: object = None) -> str:
        assert callable(make)
        mac = self._macs.get(kind)
        if mac is None:
            mac = self._macs[kind] = Mac(self._keys.sub(kind))
        for attempt in range(64):
            out = make(mac.h64(f"{attempt}/{original}"))
            if (
                out != original
                and not shares_window(original, out)
                and (valid is None or valid(out))  # type: ignore[operator]
            ):
                return str(out)
        return str(make(mac.h64(f"last/{original}")))

    def email(self, original: object, first: str | None = None, last: str | None = None) -> str:
        text = str(original).strip().lower()

        def make(h: int) -> str:
            local = ".".join(p for p in (ascii_fold(first or ""), ascii_fold(last or "")) if p)
            tld = "org" if h & 1 else "com"
            return f"{local or 'person'}.{h % 100_000:05d}@example.{tld}"

        return self._pick("email", text, make)

    def phone(self, original: object) -> str:
        text = str(original).strip()
        digits = re.sub(r"\D", "", text)
        national = digits[3:] if digits.startswith("371") and len(digits) == 11 else digits
        lead = "6" if national.startswith("6") else "2"
        # compared in the compact form, where a shared "+3712…" piece would show
        return self._pick(
            "phone",
            f"+371{national}",
            lambda h: f"+371{lead}{h % 10_000_000:07d}",
            _valid_phone,  # a few 2xxx ranges are not allocated: phonenumbers knows which
        )

    def postcode(self, original: object) -> str:
        text = str(original).strip().upper()
        digits = re.sub(r"\D", "", text)
        region = digits[:2] if len(digits) >= 2 else "10"
        return self._pick("postcode", text, lambda h: f"LV-{region}{h % 100:02d}")

    def iban(self, original: object) -> str:
        text = re.sub(r"\s", "", str(original)).upper()
        bank = text[4:8] if len(text) >= 8 and text[4:8].isalpha() else "HABA"

        def make(h: int) -> str:
            body = f"{bank}{h % 10**13:013d}"
            return f"LV{stdnum_iban.calc_check_digits('LV00' + body)}{body}"

        return self._pick("iban", text, make)

    def vat(self, original: object) -> str:
        text = re.sub(r"[\s-]", "", str(original)).upper()
        digits = text.removeprefix("LV")
        if identifiers.is_valid_company_code(digits):
            return "LV" + self._companies.pseudonymise(digits)
        if identifiers.is_valid_personal_code(digits):
            return "LV" + self._personal.pseudonymise(digits)
        return "LV" + self._companies._irregular(digits)

    def string(self, original: object) -> str:
        """A keyed string of the same shape (letters → letters, digits → digits)."""
        text = str(original)

        def make(h: int) -> str:
            out = []
            for i, c in enumerate(text):
                x = (h >> (i % 56)) + i * 7919 + h % 997
                if c.isdigit():
                    out.append(str(x % 10))
                elif c.isalpha():
                    letter = chr(ord("a") + x % 26)
                    out.append(letter.upper() if c.isupper() else letter)
                else:
                    out.append(c)
            return "".join(out)

        return self._pick("string", text, make)

    def other_identifier(self, original: object) -> str:
        return self.string(original)
