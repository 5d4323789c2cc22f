"""The knowledge base in a real browser, with axe-core and the strict CSP, at 1280 px and at
390 px: /help/, an article (with "was this helpful?"), search results, and the administrators'
editor whose live preview (static knowledge/editor.js) re-renders in the sandboxed frame."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dagr.knowledge import services
from tests.browser.test_layout import DESKTOP, PHONE, assert_no_sideways_scroll
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_public_help_pages(page, size):
    services.articles_load_shipped()
    page.set_viewport_size(size)
    assert_no_sideways_scroll(page, "/help/")
    assert page.get_by_role("heading", name="Palīdzība", exact=True).count() == 1
    page.get_by_label("Meklēt palīdzībā").fill("piekluves atlauja")
    page.get_by_role("button", name="Meklēt", exact=True).click()
    page.wait_for_load_state()
    first = page.locator(".help-results li h2 a").first
    assert first.inner_text() == "Piekļuves atļaujas pieprasīšana"
    assert page.locator(".help-results mark").count() >= 2
    assert_no_sideways_scroll(page, page.url.replace(page.url.split("/help")[0], ""))
    first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Piekļuves atļaujas pieprasīšana"
    assert_no_sideways_scroll(page, "/help/register-connection/")  # a code block inside
    page.goto("/help/request-access/")
    page.get_by_label("Nē").check()
    page.get_by_label(re.compile("Kas pietrūka")).fill("Piemērs ar curl")
    page.get_by_role("button", name="Sūtīt").click()
    page.wait_for_load_state()
    assert page.get_by_text("Paldies par atsauksmi!").count() == 1
    assert_accessible(page)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_editor_live_preview(page, size):
    services.articles_load_shipped()
    make_admin(email="admin@example.lv")
    page.set_viewport_size(size)
    log_in(page, "admin@example.lv")
    assert_no_sideways_scroll(page, "/help/manage/")
    page.goto("/help/manage/request-access/")
    frame = page.frame_locator("#preview-frame")
    # the script previews at once
    frame.get_by_role("heading", name="Piekļuves atļaujas pieprasīšana").wait_for()
    assert_no_sideways_scroll(page, "/help/manage/request-access/")
    frame.get_by_role("heading", name="Piekļuves atļaujas pieprasīšana").wait_for()
    page.get_by_label("Teksts latviski (Markdown)").fill(
        "## Jauna sadaļa\n\n<script>alert(1)</script> **svarīgi**"
    )
    frame.get_by_role("heading", name="Jauna sadaļa").wait_for()
    assert frame.locator("strong").first.inner_text() == "svarīgi"
    assert frame.locator("script").count() == 0
    page.get_by_role("button", name="Saglabāt kā jaunu versiju").click()
    page.wait_for_load_state()
    assert page.get_by_text("2. versija saglabāta.").count() == 1
    page.get_by_role("link", name="Versijas un izmaiņas").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Izmaiņas\s*v2$")).click()
    page.wait_for_load_state()
    assert page.locator("table.diff").count() >= 1
    page.go_back()
    page.get_by_role("button", name=re.compile(r"^Atjaunot šo versiju\s*v1$")).click()
    page.wait_for_load_state()
    assert page.get_by_text("1. versija atjaunota kā 3. versija.").count() == 1


def test_editor_preview_without_javascript(browser, live_server):
    services.articles_load_shipped()
    make_admin(email="admin@example.lv")
    context = browser.new_context(
        locale="lv-LV", base_url=live_server.url, java_script_enabled=False
    )
    page = context.new_page()
    try:
        log_in(page, "admin@example.lv")
        page.goto("/help/manage/new/")
        page.get_by_label("Nosaukums latviešu valodā").fill("Bez skripta")
        page.get_by_label("Teksts latviski (Markdown)").fill("## Darbojas")
        page.locator("#preview-button").click()
        page.frame_locator("#preview-frame").get_by_role("heading", name="Darbojas").wait_for()
    finally:
        context.close()
