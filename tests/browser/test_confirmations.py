"""Destructive actions ask first, in a real browser: the page says what happens and who can undo
it, "Cancel" goes back and changes nothing, the confirmation button performs the action."""

from __future__ import annotations

import pytest

from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_set_status
from dagr.core.actors import SYSTEM
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.grants.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_retiring_a_production_dataset_asks_first(page):
    w = make_world()
    dataset_set_status(actor=SYSTEM, dataset=w.dataset, status=Dataset.Status.PRODUCTION)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", w.provider_rep.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"/catalog/{w.dataset.code}/manage/")
    page.get_by_role("link", name="Slēgt datu kopu…").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Slēgt datu kopu")
    assert page.get_by_text("Atvērt to no jauna var tikai portāla administrators").count() == 1
    assert_accessible(page)
    page.get_by_role("link", name="Atcelt").click()
    page.wait_for_load_state()
    w.dataset.refresh_from_db()
    assert w.dataset.status == Dataset.Status.PRODUCTION and page.url.endswith("/manage/")
    page.get_by_role("link", name="Slēgt datu kopu…").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Slēgt datu kopu").click()
    page.wait_for_load_state()
    w.dataset.refresh_from_db()
    assert w.dataset.status == Dataset.Status.RETIRED
