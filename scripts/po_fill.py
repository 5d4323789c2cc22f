"""Fill empty msgstr entries of a .po file from a JSON dictionary {msgid: translation}.

Used by developers when translating (``scripts/po_fill.py app.po lv.json``); prints the msgids
still untranslated. Hand-written because it is twenty lines and needs no dependency.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines if line.startswith('"'))


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def fill(po_path: str, translations: dict[str, str]) -> list[str]:
    with open(po_path, encoding="utf-8") as handle:
        text = handle.read()
    blocks = text.split("\n\n")
    missing: list[str] = []
    out = []
    for block in blocks:
        lines = block.split("\n")
        if not any(line.startswith("msgid ") for line in lines):
            out.append(block)
            continue
        i = next(n for n, line in enumerate(lines) if line.startswith("msgid "))
        j = next(n for n, line in enumerate(lines) if line.startswith("msgstr"))
        msgid = _unquote([lines[i][6:], *lines[i + 1 : j]])
        current = _unquote([lines[j][7:], *[ln for ln in lines[j + 1 :] if ln.startswith('"')]])
        if msgid == "" or "msgid_plural" in block:
            out.append(block)
            continue
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines[:i])
        if msgid in translations:
            current = translations[msgid]
        elif fuzzy:
            current = ""  # a guess by makemessages from a similar text: never keep it silently
        if not current:
            missing.append(msgid)
        head = [ln for ln in lines[:i] if ln != "#, fuzzy" and not ln.startswith("#| ")]
        head = [re.sub(r"^#, fuzzy, ", "#, ", ln) for ln in head]
        out.append("\n".join([*head, *lines[i:j], f"msgstr {_quote(current)}"]))
    with open(po_path, "w", encoding="utf-8") as handle:
        handle.write("\n\n".join(out))
    return missing


def _entries(po_path: str) -> list[Any]:
    try:
        from scripts.po_sources import parse_po
    except ImportError:  # run as a script: scripts/ itself is on sys.path
        from po_sources import parse_po  # type: ignore[no-redef]
    with open(po_path, encoding="utf-8") as handle:
        return [e for e in parse_po(handle.read()) if (e.msgid or e.msgctxt) and not e.obsolete]


def _key(entry: Any) -> str:
    return entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"


def untranslated(po_path: str) -> list[str]:
    """msgids with an empty (any plural form) or fuzzy translation (read-only)."""
    return [
        _key(e)
        for e in _entries(po_path)
        if e.fuzzy or not e.msgstr or any(not form for form in e.msgstr)
    ]


def translations(po_path: str) -> dict[str, str]:
    """{msgid: msgstr} of the translated entries (read-only); context as ``ctxt\x04msgid``,
    plural forms joined with ``\x00``."""
    return {
        _key(e): "\x00".join(e.msgstr)
        for e in _entries(po_path)
        if not e.fuzzy and e.msgstr and all(e.msgstr)
    }


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as handle:
        table = json.load(handle)
    for msgid in fill(sys.argv[1], table):
        sys.stdout.write(json.dumps(msgid, ensure_ascii=False) + "\n")
