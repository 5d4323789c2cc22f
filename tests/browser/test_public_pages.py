"""The public pages in a real headless Chromium, checked with axe-core."""

import pytest

from tests.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_is_latvian_accessible_and_switches_to_english(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "lv"
    assert page.locator("h1").count() == 1
    assert page.locator("h1").inner_text() == "Datu izplatīšanas un pārvaldības platforma"
    assert_accessible(page)
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Data distribution and management platform"
    )
    assert_accessible(page)


def test_static_assets_are_served_locally(page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/")
    assert any(url.endswith("/static/dagr/dagr.css") for url in requested)
    foreign = [u for u in requested if not u.startswith(page.context.pages[0].url.split("/")[0])]
    assert not [u for u in foreign if u.startswith("http")], foreign
