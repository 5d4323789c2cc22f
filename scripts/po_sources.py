"""Are the Latvian catalogues up to date with the source? Lists every text that is not.

``.venv/bin/python scripts/po_sources.py [app ...]`` prints one line per translatable text of a
DAGR app (``_("…")``, ``pgettext``, ``ngettext``, ``{% translate %}``, ``{% blocktranslate %}``)
that has no Latvian translation, with its ``file:line``, and exits 1 when there is any.

The texts are extracted exactly the way a developer's ``cd dagr/<app> && dagr makemessages -l lv``
extracts them: Django's own ``makemessages`` command runs on a temporary copy of the app directory
(so the working tree is never touched) and keeps its ``.pot`` file, which is then compared with the
app's committed ``locale/lv/LC_MESSAGES/django.po``. Needs GNU gettext (``xgettext``,
``msguniq``), which ``make system-deps`` installs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS_DIR = ROOT / "dagr"
LANGUAGE = "lv"
GETTEXT_PROGRAMS = ("xgettext", "msguniq")

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_ESCAPE_RE = re.compile(r"\\(.)")
_KEYWORD_RE = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")\s*$")


@dataclass
class Entry:
    """One message of a .po/.pot file."""

    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False
    obsolete: bool = False
    references: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str | None, str]:
        """What gettext looks a translation up by: the context and the singular text."""
        return (self.msgctxt, self.msgid)

    @property
    def translated(self) -> bool:
        """Compiled into the .mo file with a translation (msgfmt drops fuzzy entries)."""
        return not self.fuzzy and not self.obsolete and bool(self.msgstr) and all(self.msgstr)

    def label(self) -> str:
        text = repr(self.msgid)
        if self.msgid_plural is not None:
            text += f" / plural {self.msgid_plural!r}"
        if self.msgctxt is not None:
            text = f"[context {self.msgctxt!r}] {text}"
        return text


def _unquote(literal: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m[1], m[1]), literal.strip()[1:-1])


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po/.pot file, the header included (msgid ""), obsolete ones flagged."""
    entries: list[Entry] = []
    entry = Entry()
    started = False  # the current entry has a keyword line
    target: tuple[str, int] | None = None  # where continuation lines go

    def finish() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for raw in text.splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):  # '#~|' previous text of an obsolete entry
                continue
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if started and entry.msgstr:
                finish()
            if line.startswith("#,") and "fuzzy" in (f.strip() for f in line[2:].split(",")):
                entry.fuzzy = True
            elif line.startswith("#:"):
                entry.references.extend(line[2:].split())
            continue
        match = _KEYWORD_RE.match(line)
        if match:
            keyword, literal = match.groups()
            if keyword in ("msgctxt", "msgid") and entry.msgstr:
                finish()
            started = True
            entry.obsolete = entry.obsolete or obsolete
            value = _unquote(literal)
            if keyword == "msgctxt":
                entry.msgctxt, target = value, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, target = value, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.msgid_plural, target = value, ("msgid_plural", 0)
            else:
                entry.msgstr.append(value)
                target = ("msgstr", len(entry.msgstr) - 1)
        elif line.startswith('"') and target is not None:
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, name, (getattr(entry, name) or "") + value)
    finish()
    return entries


def catalogue_path(app_dir: Path) -> Path:
    return app_dir / "locale" / LANGUAGE / "LC_MESSAGES" / "django.po"


def apps_with_locale(apps_dir: Path = APPS_DIR) -> list[Path]:
    return sorted(p.parent for p in apps_dir.glob("*/locale") if p.is_dir())


def missing_programs() -> list[str]:
    return [name for name in GETTEXT_PROGRAMS if shutil.which(name) is None]


def extract(app_dir: Path) -> list[Entry]:
    """The texts ``dagr makemessages`` finds in the app, references relative to the repository.

    Django's settings must be configured. ``LOCALE_PATHS`` is emptied for the run because
    makemessages would otherwise create the project's locale directory in the working tree.
    """
    from django.core.management import call_command
    from django.test import override_settings

    with tempfile.TemporaryDirectory(prefix="dagr-po-") as tmp:
        copy = Path(tmp) / app_dir.name
        shutil.copytree(
            app_dir, copy, ignore=shutil.ignore_patterns("__pycache__", "locale", "*.pyc")
        )
        (copy / "locale").mkdir()
        with override_settings(LOCALE_PATHS=[]), contextlib.chdir(copy):
            # --all with no locale directory: only the .pot file is built (and kept)
            call_command("makemessages", all=True, keep_pot=True, verbosity=0)
        pot = copy / "locale" / "django.pot"
        if not pot.exists():  # no translatable text at all
            return []
        entries = [e for e in parse_po(pot.read_text(encoding="utf-8")) if e.msgid]
    prefix = app_dir.relative_to(ROOT) if app_dir.is_relative_to(ROOT) else app_dir
    for entry in entries:
        entry.references = [f"{prefix}/{ref.removeprefix('./')}" for ref in entry.references]
    return entries


def read_catalogue(app_dir: Path) -> list[Entry]:
    path = catalogue_path(app_dir)
    if not path.exists():
        return []
    return [e for e in parse_po(path.read_text(encoding="utf-8")) if e.msgid]


def _problem(source: Entry, found: Entry | None) -> str | None:
    if found is None or found.obsolete:
        return "missing from the catalogue"
    if (found.msgid_plural is None) != (source.msgid_plural is None):
        return "plural form differs from the catalogue's (ngettext vs gettext)"
    if found.msgid_plural != source.msgid_plural:
        return f"plural text changed (catalogue has {found.msgid_plural!r})"
    if found.fuzzy:
        return "fuzzy in the catalogue"
    if not found.translated:
        return "untranslated in the catalogue"
    return None


def untranslated_sources(apps: list[Path] | None = None, apps_dir: Path = APPS_DIR) -> list[str]:
    """One line per source text of the apps without a Latvian translation at runtime.

    A text missing from its own app's catalogue still counts as translated when another DAGR
    app's catalogue translates it (same context, same singular and plural text): Django merges
    all catalogues at runtime, and tests/core/test_translations.py checks that one text is
    translated the same way everywhere.
    """
    every_app = apps_with_locale(apps_dir)
    catalogues = {app: read_catalogue(app) for app in every_app}
    runtime: dict[tuple[str | None, str], list[Entry]] = {}
    for entries in catalogues.values():
        for entry in entries:
            if entry.translated:
                runtime.setdefault(entry.key, []).append(entry)
    lines: list[str] = []
    for app in apps if apps is not None else every_app:
        own = {e.key: e for e in catalogues.get(app, read_catalogue(app)) if not e.obsolete}
        for source in extract(app):
            problem = _problem(source, own.get(source.key))
            if problem is None:
                continue
            elsewhere = runtime.get(source.key, [])
            if any(e.msgid_plural == source.msgid_plural for e in elsewhere):
                continue  # translated by another app's catalogue: the same text, the same way
            refs = source.references
            where = ", ".join(refs[:3]) or app.name
            if len(refs) > 3:
                where += f" (+{len(refs) - 3} more)"
            lines.append(f"{where}: {source.label()}: {problem}")
    return lines


def main(argv: list[str]) -> int:
    absent = missing_programs()
    if absent:
        sys.stderr.write(f"GNU gettext is not installed ({', '.join(absent)}): make system-deps\n")
        return 2
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    apps = [APPS_DIR / name for name in argv] if argv else None
    lines = untranslated_sources(apps)
    for line in lines:
        sys.stdout.write(line + "\n")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
