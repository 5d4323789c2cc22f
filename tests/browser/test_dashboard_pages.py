"""The statistics pages in a real browser, for each role, checked with axe-core (WCAG 2.1 AA)
and the strict Content-Security-Policy (the ``page`` fixture fails on a violation)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from dagr.dashboard.services import rollups_advance
from tests.conftest import assert_accessible
from tests.dashboard.conftest import build_history, build_world

from .test_accounts_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("role", ["admin", "provider_user", "recipient_user"])
def test_every_statistics_page_is_accessible(page: Any, role: str) -> None:
    world = build_history(build_world())
    rollups_advance(now=timezone.now() + timezone.timedelta(minutes=1))
    log_in(page, getattr(world, role).email)
    page.goto("/statistics/?period=24h")
    assert page.get_by_role("heading", level=1).inner_text() == "Statistika: pieprasījumi"
    assert page.locator("svg[role=img] title").count() >= 5  # every chart is named
    assert_accessible(page)
    page.get_by_label("Periods").select_option("1h")
    page.get_by_role("button", name="Rādīt").click()
    page.wait_for_load_state()
    assert "period=1h" in page.url
    assert_accessible(page)
    for path, heading in (
        ("/statistics/datasets/", "Statistika: datu kopas"),
        ("/statistics/recipients/", "Statistika: datu ņēmēji"),
    ):
        page.goto(path)
        assert page.get_by_role("heading", level=1).inner_text() == heading
        assert_accessible(page)
