"""The public catalogue and a provider's dataset pages in a real browser, with axe-core."""

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_set_status
from dagr.core.actors import SYSTEM
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_dataset, make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider():
    institution = make_institution(kind=Institution.Kind.PROVIDER, name="Iedzīvotāju reģistrs")
    user = make_user(
        email="devejs@example.lv", institution=institution, roles=(Membership.Role.PROVIDER,)
    )
    dataset = make_dataset(provider=institution, code="iedzivotaji")
    dataset_set_status(actor=SYSTEM, dataset=dataset, status=Dataset.Status.PRODUCTION)
    return institution, user, dataset


def test_public_catalogue_and_documentation_page(page, provider):
    page.goto("/catalog/")
    assert page.get_by_text("Iedzīvotāju reģistrs").count() >= 1
    assert_accessible(page)
    page.get_by_role("link", name=provider[2].title_lv).first.click()
    page.wait_for_load_state()
    assert "/catalog/iedzivotaji/" in page.url
    assert page.get_by_text("personal_code").count() >= 1
    assert_accessible(page)


def test_provider_manage_page_is_accessible(page, provider):
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill("devejs@example.lv")
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()
    page.goto("/catalog/iedzivotaji/manage/")
    assert page.locator("h1").count() == 1
    assert_accessible(page)
    page.goto("/catalog/new/")
    assert_accessible(page)
