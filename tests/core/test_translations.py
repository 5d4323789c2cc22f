"""Latvian first: every text of every DAGR app has a Latvian translation."""

from pathlib import Path

import pytest

from scripts.po_fill import untranslated

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(ROOT.glob("dagr/*/locale/lv/LC_MESSAGES/django.po"))


def test_there_are_catalogues():
    assert len(CATALOGUES) >= 3


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-5])
def test_every_message_is_translated_to_latvian(po):
    missing = untranslated(str(po))
    assert not missing, f"{po}: untranslated or fuzzy: {missing[:10]}"


def test_apps_with_templates_have_a_latvian_catalogue():
    apps = {p.parts[-2] for p in ROOT.glob("dagr/*/templates")}
    with_catalogue = {p.parts[-5] for p in CATALOGUES}
    assert apps <= with_catalogue, apps - with_catalogue


def test_the_same_text_is_translated_the_same_way_everywhere():
    """Django merges the apps' catalogues (the first app wins), so two apps translating one
    English text differently would make a page show the other app's wording."""
    from scripts.po_fill import translations

    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for po in CATALOGUES:
        app = po.parts[-5]
        for msgid, msgstr in translations(str(po)).items():
            if msgid in seen and seen[msgid][1] != msgstr:
                conflicts.append(
                    f"{msgid!r}: {seen[msgid][0]}={seen[msgid][1]!r}, {app}={msgstr!r}"
                )
            seen.setdefault(msgid, (app, msgstr))
    assert not conflicts, "\n".join(conflicts)
