"""Latvian first, from the source: every text marked for translation in an app is in a catalogue.

tests/core/test_translations.py checks the entries that ARE in each catalogue; this module checks
that the catalogues are up to date with the source, so a new ``_("…")``, ``pgettext``,
``ngettext`` or ``{% translate %}`` / ``{% blocktranslate %}`` added without running
``makemessages`` fails here instead of showing English to Latvian users.

How: for every app under dagr/ with a ``locale`` directory, Django's own ``makemessages`` runs on a
temporary copy of the app directory (exactly what ``cd dagr/<app> && dagr makemessages -l lv``
extracts; the working tree is never touched) and each extracted message — keyed by context
(``msgctxt``) and text, with its plural text — must be translated, not fuzzy, in the app's
committed ``locale/lv/LC_MESSAGES/django.po`` (see scripts/po_sources.py, which also runs from the
command line). The failure lists every such text with its ``file:line``.

Decision — a text missing from its own app's catalogue but translated in ANOTHER DAGR app's
catalogue is accepted: Django merges all apps' catalogues at runtime, so the user sees Latvian,
and test_translations.py fails when one text is translated differently in two apps. Only DAGR
catalogues count, not Django's own: their wording is not ours and may change with an upgrade.
(Running makemessages in that app later adds an empty entry, which test_translations.py then
reports; copy the other app's translation.)

Needs GNU gettext (``xgettext``, ``msguniq``; ``make system-deps`` installs it): skipped without
it on a developer machine, failed under CI (``CI=true``).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from scripts.po_sources import (
    apps_with_locale,
    extract,
    missing_programs,
    parse_po,
    untranslated_sources,
)

APPS = apps_with_locale()


def require_gettext() -> None:
    """Skip on a developer machine without GNU gettext; fail under CI."""
    absent = missing_programs()
    if absent:
        message = (
            f"GNU gettext is not installed ({', '.join(absent)} not found): "
            "run `make system-deps` (apt-get install gettext)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: the source/catalogue check must run)")
        pytest.skip(message)


def test_there_are_apps_with_catalogues() -> None:
    assert len(APPS) >= 3


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.name)
def test_every_source_text_has_a_latvian_translation(app: Path) -> None:
    require_gettext()
    missing = untranslated_sources([app])
    assert not missing, (
        f"{len(missing)} text(s) of dagr/{app.name} have no Latvian translation; run "
        f"`cd dagr/{app.name} && ../../.venv/bin/dagr makemessages -l lv`, translate, then "
        "`.venv/bin/dagr compilemessages --ignore .venv`:\n" + "\n".join(missing)
    )


# --- the check itself, on a throw-away app --------------------------------------------------

HEADER = textwrap.dedent(
    """\
    msgid ""
    msgstr ""
    "Content-Type: text/plain; charset=UTF-8\\n"
    "Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : "
    "2);\\n"
    """
)


def _app(root: Path, name: str, files: dict[str, str], po: str) -> Path:
    app = root / name
    for relative, text in files.items():
        (app / relative).parent.mkdir(parents=True, exist_ok=True)
        (app / relative).write_text(textwrap.dedent(text), encoding="utf-8")
    catalogue = app / "locale" / "lv" / "LC_MESSAGES" / "django.po"
    catalogue.parent.mkdir(parents=True)
    catalogue.write_text(HEADER + textwrap.dedent(po), encoding="utf-8")
    return app


def test_the_check_reports_missing_fuzzy_context_and_plural_texts(tmp_path: Path) -> None:
    require_gettext()
    views = """\
        from django.utils.translation import gettext as _, ngettext, pgettext, npgettext

        OK = _("Dataset")
        NEW = _("Record set")
        FUZZY = _("Webhook")
        CONTEXT = pgettext("verb", "Open")
        PLURAL = ngettext("%(n)s file", "%(n)s files", 2)
        CONTEXT_PLURAL = npgettext("grant", "%(n)s day", "%(n)s days", 2)
        ELSEWHERE = _("Recipient")
        """
    page = """\
        {% load i18n %}
        <h1>{% translate "Dataset" %}</h1>
        <p>{% blocktranslate count n=3 %}{{ n }} row{% plural %}{{ n }} rows{% endblocktranslate %}
        </p>
        <p>{% translate "May" context "month" %}</p>
        """
    po = """
        msgid "Dataset"
        msgstr "Datu kopa"

        #, fuzzy
        msgid "Webhook"
        msgstr "Tīmekļa āķis"

        msgid "Open"
        msgstr "Atvērt"

        msgid "%(n)s file"
        msgid_plural "%(n)s files"
        msgstr[0] "%(n)s fails"
        msgstr[1] "%(n)s faili"
        msgstr[2] ""

        msgctxt "grant"
        msgid "%(n)s day"
        msgid_plural "%(n)s days"
        msgstr[0] "%(n)s diena"
        msgstr[1] "%(n)s dienas"
        msgstr[2] "%(n)s dienu"

        msgid "%(n)s row"
        msgstr "%(n)s rinda"

        msgctxt "month"
        msgid "May"
        msgstr "Maijs"
        """
    app = _app(tmp_path, "shop", {"views.py": views, "templates/shop/page.html": page}, po)
    _app(tmp_path, "other", {}, '\nmsgid "Recipient"\nmsgstr "Datu ņēmējs"\n')

    lines = untranslated_sources([app], apps_dir=tmp_path)
    report = "\n".join(lines)

    assert len(lines) == 5, report
    assert "shop/views.py:4: 'Record set': missing from the catalogue" in report
    assert "shop/views.py:5: 'Webhook': fuzzy in the catalogue" in report
    assert "shop/views.py:6: [context 'verb'] 'Open': missing from the catalogue" in report
    assert "shop/views.py:7: '%(n)s file' / plural '%(n)s files': untranslated" in report
    assert (
        "shop/templates/shop/page.html:3: '%(n)s row' / plural '%(n)s rows': plural form differs"
    ) in report
    # translated here, or (Recipient) only in another app's catalogue: not reported
    assert "Dataset" not in report
    assert "'May'" not in report
    assert "%(n)s day" not in report
    assert "Recipient" not in report


def test_extraction_leaves_the_app_directory_untouched(tmp_path: Path) -> None:
    require_gettext()
    app = _app(
        tmp_path,
        "shop",
        {
            "views.py": 'from django.utils.translation import gettext as _\nX = _("Hi")\n',
            "templates/shop/a.html": '{% load i18n %}{% translate "Ho" %}\n',
        },
        "",
    )
    before = sorted(p.relative_to(app) for p in app.rglob("*"))
    catalogue = (app / "locale/lv/LC_MESSAGES/django.po").read_bytes()

    assert sorted((e.msgid, e.references) for e in extract(app)) == [
        ("Hi", [f"{app}/views.py:2"]),
        ("Ho", [f"{app}/templates/shop/a.html:1"]),
    ]
    assert sorted(p.relative_to(app) for p in app.rglob("*")) == before
    assert (app / "locale/lv/LC_MESSAGES/django.po").read_bytes() == catalogue


def test_an_entry_glued_to_the_header_is_read() -> None:
    """msgfmt needs no blank line after the header; an entry written right after it counts."""
    entries = parse_po(
        HEADER + '#: a.py:1\nmsgid "Hi"\nmsgstr ""\n\n#~ msgid "Old"\n#~ msgstr "Vecs"\n'
    )
    hi, old = (e for e in entries if e.msgid)
    assert (hi.msgid, hi.translated, hi.references) == ("Hi", False, ["a.py:1"])
    assert (old.msgid, old.obsolete, old.translated) == ("Old", True, False)
