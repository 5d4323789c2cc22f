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
