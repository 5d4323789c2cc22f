"""The public portal pages of issue #16 in a real headless Chromium at 1280 px and at 390 px:
the catalogue with its filters, a dataset page with its API guide and test data, the glossary
and "how to get access". axe-core checks each; none scrolls sideways; no login anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dagr.accounts.models import Institution
from dagr.catalog import hooks
from tests.browser.test_layout import DESKTOP, PHONE, assert_no_sideways_scroll
from tests.catalog.test_catalogue_search import COMPANY_SCHEMA
from tests.conftest import assert_accessible
from tests.factories import make_dataset, make_institution

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture
def catalogue() -> Iterator[None]:
    ur = make_institution(name="Uzņēmumu reģistrs", kind=Institution.Kind.PROVIDER)
    make_dataset(
        provider=ur,
        code="uznemumi",
        status="production",
        schema=COMPANY_SCHEMA,
        title_lv="Uzņēmumu reģistrs",
        title_en="Company register",
        description_lv="Komersanti, to valdes locekļi un juridiskās adreses.",
    )
    test = make_dataset(
        provider=ur,
        code="uznemumi-test",
        schema=COMPANY_SCHEMA,
        title_lv="Uzņēmumu reģistrs (testa dati)",
        title_en="Company register (test data)",
    )
    make_dataset(
        provider=make_institution(name="PMLP", kind=Institution.Kind.PROVIDER),
        code="iedzivotaji",
        status="production",
        title_lv="Iedzīvotāju reģistrs",
        title_en="Population register",
    )

    def open_ids() -> set[int]:
        return {test.pk}

    hooks.register_open_sandbox(open_ids)
    yield
    hooks.unregister_open_sandbox(open_ids)


@pytest.mark.parametrize("size", SIZES)
def test_the_catalogue_filters_without_login(page, catalogue, size):
    page.set_viewport_size(size)
    assert_no_sideways_scroll(page, "/catalog/")
    page.fill("#catalog-q", "valdes")
    page.select_option("#catalog-identifier", "personal_code")
    page.check("#catalog-test-data")
    page.get_by_role("button", name="Meklēt").click()
    page.wait_for_load_state()
    assert "identifier=personal_code" in page.url and "test_data=1" in page.url
    assert page.locator(".result-count").inner_text() == "2 datu kopas"
    assert page.get_by_role("link", name="Uzņēmumu reģistrs", exact=True).count() == 1
    assert page.get_by_role("link", name="Iedzīvotāju reģistrs").count() == 0
    assert_no_sideways_scroll(page, page.url)
    page.goto("/catalog/?q=nekas+tads")
    assert page.locator(".empty-state").count() == 1
    assert_accessible(page)


@pytest.mark.parametrize("size", SIZES)
def test_the_dataset_page_has_an_api_guide_and_test_data(page, catalogue, size):
    page.set_viewport_size(size)
    assert_no_sideways_scroll(page, "/catalog/uznemumi/")
    guide = page.locator("section.api-guide")
    assert guide.get_by_role("heading", level=2).inner_text() == "Datu kopas izmantošana caur API"
    assert "/api/v1/data/uznemumi/records/board_members.personal_code/32" in guide.inner_text()
    guide.locator("details summary").nth(1).click()  # a record answer, opened
    assert '"registration_number"' in guide.locator("details[open] pre").first.inner_text()
    assert_no_sideways_scroll(page, page.url)  # the answer fits too
    assert page.get_by_role("link", name="Atvērt testa datus").get_attribute("href") == (
        "/test-data/uznemumi/"
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_glossary_and_how_to_get_access(page, size, language):
    page.set_viewport_size(size)
    page.goto("/glossary/")
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_load_state()
    assert_no_sideways_scroll(page, "/glossary/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("dl.glossary dt").count() >= 25
    page.locator(".glossary-index a[href='#record-set']").click()
    assert page.url.endswith("#record-set")
    assert page.locator("#record-set").is_visible()
    assert_no_sideways_scroll(page, "/get-access/")
    assert page.locator("ol.steps > li").count() == 5
