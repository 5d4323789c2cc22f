"""The grant pages in a real headless Chromium, checked with axe-core (WCAG 2.1 AA)."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.grants.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, user):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_request_and_approve_pages_are_accessible(page):
    w = make_world()
    login(page, w.recipient_rep)
    page.goto(f"/catalog/{w.dataset.code}/")
    page.get_by_role("link", name="Pieprasīt piekļuvi").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_label("Vārds (name)").check()
    page.get_by_label("Dzimšanas datums (birth_date)").check()
    page.select_option("#id_c0-field", "birth_date")
    page.select_option("#id_c0-op", "older_than")
    page.fill("#id_c0-value", "18")
    page.fill("#id_legal_basis", "Likuma 5. pants")
    page.fill("#id_purpose", "Pabalsti")
    page.get_by_role("button", name="Nosūtīt pieprasījumu").click()
    page.wait_for_load_state()
    assert "Dzimšanas datums ir senāks par 18 g." in page.content()
    assert_accessible(page)
    grant_url = page.url
    login(page, w.provider_rep)
    page.goto(grant_url)
    page.get_by_role("link", name="Apstiprināt…").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.fill("#id_permission_number", "ATL-1")
    page.get_by_role("button", name="Apstiprināt", exact=True).click()
    page.wait_for_load_state()
    assert "Piekļuves atļauja apstiprināta." in page.content()
    page.goto("/grants/")
    assert_accessible(page)
