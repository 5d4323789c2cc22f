"""Every administrative audit action written anywhere in dagr/ has a label in the registry."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from dagr.audit.actions import ACTION_LABELS, PREFIX_LABELS, action_label

ROOT = Path(__file__).resolve().parents[2] / "dagr"
LITERAL = re.compile(r'action="([a-z_]+\.[a-z_]+\.[a-z_]+)"')
TABLE = re.compile(r'"([a-z_]+\.[a-z_]+\.[a-z_]+)"')
SUBSCRIPTION = re.compile(r'_audit\("([a-z_]+)"')


def written_actions() -> set[str]:
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(LITERAL.findall(text))
        if "_STATUS_ACTIONS" in text:
            block = text[text.index("_STATUS_ACTIONS") :].split("}", 1)[0]
            names |= set(TABLE.findall(block))
        if 'f"monitoring.subscription.{action}"' in text:
            names |= {f"monitoring.subscription.{a}" for a in SUBSCRIPTION.findall(text)}
    return names


def test_every_written_action_has_a_label():
    written = written_actions()
    assert "accounts.membership.granted" in written and "accounts.user.blocked" in written
    assert "monitoring.subscription.paused" in written
    assert sorted(written - set(ACTION_LABELS)) == []
    assert {name.rsplit(".", 1)[0] for name in ACTION_LABELS} <= set(PREFIX_LABELS)


def test_labels_in_both_languages():
    with translation.override("lv"):
        assert action_label("accounts.membership.granted") == "loma piešķirta"
    with translation.override("en"):
        assert action_label("accounts.membership.granted") == "role granted"
    assert action_label("some.unknown.action") == "some.unknown.action"
