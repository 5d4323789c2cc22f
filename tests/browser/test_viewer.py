"""The data viewer in a real browser, with axe-core: choose a grant, look a record up, browse."""

import pytest

from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.retrieval.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_viewer_lookup_and_browse(page):
    w = make_world()
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(w.recipient_rep.email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()
    page.goto("/viewer/")
    assert page.get_by_role("heading", name="Datu skatītājs").count() == 1
    assert_accessible(page)
    page.get_by_role("link", name="Uzņēmumi").click()
    page.wait_for_load_state()
    page.get_by_label("Identifikatora lauks").select_option("board_members.personal_code")
    page.get_by_label("Identifikatora vērtība").fill("P-3")
    page.get_by_role("button", name="Meklēt", exact=True).click()
    page.wait_for_load_state()
    assert "P-3" not in page.url and "lookup" not in page.url  # posted, not in the address
    assert page.get_by_role("cell", name="SIA Nr 3", exact=True).count() == 1
    assert page.get_by_text("secret 3").count() == 0
    assert_accessible(page)
    page.get_by_label("Pilsēta").fill("Liepāja")
    page.get_by_role("button", name="Rādīt ierakstus").click()
    page.wait_for_load_state()
    assert page.get_by_text("10 ieraksti").count() == 1
    assert_accessible(page)


def test_sync_configuration_page(page):
    w = make_world()
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(w.recipient_rep.email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()
    page.goto("/viewer/")
    page.get_by_role("link", name="sinhronizācijas").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_text("ATL-1").count() >= 1
    assert "client_secret_env" in page.content()
    assert_accessible(page)
