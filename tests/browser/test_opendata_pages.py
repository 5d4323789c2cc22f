"""The open data description form in a real browser: axe-core at desktop width and at 390 px
(no sideways scroll), validation as you type (the static script posts the draft and shows the
finding under its field, under the strict CSP), and the same findings after saving without it."""

from __future__ import annotations

from typing import Any

import pytest

from dagr.accounts.models import Membership
from tests.browser.test_layout import DESKTOP, PHONE, assert_no_sideways_scroll, login
from tests.conftest import assert_accessible
from tests.factories import make_dataset, make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 60_000  # the validation runs pyshacl on the server: give a loaded machine time


@pytest.fixture
def world() -> Any:
    inst = make_institution(name="Paraugu iestāde")
    user = make_user(institution=inst, roles=(Membership.Role.PROVIDER,))
    ds = make_dataset(
        provider=inst,
        code="iedzivotaji",
        status="production",
        description_lv="Iedzīvotāju reģistrs",
        description_en="Population register",
    )
    return user, ds


def test_form_is_accessible_on_desktop_and_phone(page: Any, world: Any) -> None:
    user, ds = world
    page.set_default_timeout(SLOW)
    login(page, user)
    page.set_viewport_size(DESKTOP)
    page.goto(f"/open-data/datasets/{ds.code}/")
    assert page.locator("h1").inner_text().startswith("Atvērto datu apraksts")
    assert_accessible(page)
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page, f"/open-data/datasets/{ds.code}/")
    assert_no_sideways_scroll(page, "/open-data/templates/")


def test_validation_as_you_type_shows_the_finding_under_its_field(page: Any, world: Any) -> None:
    user, ds = world
    page.set_default_timeout(SLOW)
    login(page, user)
    page.set_viewport_size(DESKTOP)
    page.goto(f"/open-data/datasets/{ds.code}/")
    findings = page.locator("#check-description_lv")
    assert "Obligāti" not in findings.inner_text()
    page.fill("#id_description_lv", "")
    page.fill("#id_description_en", "")
    findings.locator(".finding-violation").wait_for(timeout=SLOW)
    assert "Obligāti" in findings.inner_text()
    assert "kļūdas" in page.locator("#od-publishable").inner_text()
    assert page.locator("#id_description_lv").get_attribute("aria-invalid") == "true"
    assert_accessible(page)
    page.fill("#id_keywords_lv", "iedzīvotāji")
    page.fill("#id_description_lv", "Iedzīvotāju reģistrs")
    page.wait_for_function(
        "() => !document.querySelector('#check-description_lv .finding-violation')",
        timeout=SLOW,
    )


def test_without_javascript_the_findings_come_after_saving(
    browser: Any, live_server: Any, world: Any
) -> None:
    user, ds = world
    context = browser.new_context(
        locale="lv-LV", base_url=live_server.url, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(SLOW)
    try:
        login(page, user)
        page.goto(f"/open-data/datasets/{ds.code}/")
        page.fill("#id_description_lv", "")
        page.fill("#id_description_en", "")
        page.locator("#od-form button[type=submit]").click()
        page.wait_for_load_state()
        assert "Obligāti" in page.locator("#check-description_lv").inner_text()
    finally:
        context.close()
