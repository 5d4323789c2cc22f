"""Phone width (390×844) and a 1280 px window: no page scrolls sideways; wide tables scroll inside
their own box. axe-core checks each page too (status colours included: contrast ≥ 4.5:1)."""

from __future__ import annotations

from typing import Any

import pytest

from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_set_status
from dagr.core.actors import SYSTEM
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.grants.factories import make_request, make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


# The outermost elements that stick out of the window (to name them in a failure).
WIDE_ELEMENTS = """() => {
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 0.5 && !(el.parentElement.getBoundingClientRect().right
        > window.innerWidth + 0.5)) {
      out.push(`${el.tagName.toLowerCase()}.${el.className}#${el.id} ${Math.round(r.right)}`);
    }
  }
  return out.slice(0, 8);
}"""


def login(page: Any, user: Any) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def assert_no_sideways_scroll(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate(WIDE_ELEMENTS) if widths[0] > widths[1] else []
    assert widths[0] <= widths[1], f"{url} is {widths[0]} px wide in {widths[1]} px: {wide}"
    assert_accessible(page)


def test_phone_width_pages_do_not_scroll_sideways(page):
    w = make_world()
    dataset_set_status(actor=SYSTEM, dataset=w.dataset, status=Dataset.Status.PRODUCTION)
    grant = make_request(w)
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page, "/catalog/")
    assert_no_sideways_scroll(page, f"/catalog/{w.dataset.code}/")
    login(page, w.provider_rep)
    assert_no_sideways_scroll(page, "/dashboard/")
    assert_no_sideways_scroll(page, f"/grants/{grant.pk}/")
    assert_no_sideways_scroll(page, f"/grants/{grant.pk}/approve/")


def test_admin_audit_page_fits_a_1280_px_window(page):
    w = make_world()
    for n in range(30):
        admin_entry_create(
            action="catalog.dataset.schema_changed",
            actor=w.admin,
            target=w.dataset,
            changes={
                "schema_yaml": ["fields:\n" + "- key: a_very_long_field_name_" * 12, str(n) * 80],
                "roles": [None, ["recipient", "provider", "signatory"]],
            },
        )
    page.set_viewport_size(DESKTOP)
    login(page, w.admin)
    assert_no_sideways_scroll(page, "/accounts/audit/")
