"""The open data portal (CKAN) pages in a real browser, with axe-core: the settings (the token
masked and never shown again), publishing a dataset with opendata's real description to the
CKAN stand-in, its status and log, the portal's refusal of a taken name shown under the name
field, and withdrawing through the confirmation page."""

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.ckan.models import Publication
from dagr.ckan.services import publication_sync
from dagr.core.actors import SYSTEM
from dagr.opendata import services as opendata_services
from tests.ckan.conftest import (
    TOKEN,
    ckan,  # noqa: F401 (fixture)
)
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_dataset, make_institution, make_user
from tests.opendata.conftest import complete_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sync() -> None:
    publication_sync(Publication.objects.get().pk)


def test_settings_publish_errors_and_withdraw(page, ckan):  # noqa: F811
    provider = make_institution(name="Paraugu iestāde", kind=Institution.Kind.PROVIDER)
    rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(
        provider=provider,
        code="iedzivotaji",
        description_lv="Apraksts",
        description_en="Descr",
        status="production",
    )
    opendata_services.metadata_update(actor=SYSTEM, dataset=dataset, **complete_values())
    opendata_services.metadata_publish(actor=SYSTEM, dataset=dataset)  # in the catalogue
    ckan.package_create(
        {
            "name": "iedzivotaji",
            "owner_org": "ur",
            "title_translated": {"lv": "Cita", "en": "Other"},
            "notes_translated": {"lv": "Cita", "en": "Other"},
        },
        ckan.tokens[TOKEN],
    )
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(rep.email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()

    page.goto("/open-data-portal/")
    assert page.get_by_role("heading", name="Atvērto datu portāls").count() == 1
    assert_accessible(page)
    page.get_by_role("link", name="Portāla iestatījumi").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_label("Portāla adrese").fill(ckan.url)
    page.get_by_label("Organizācijas nosaukums portālā").fill("ur")
    page.get_by_label("API pilnvara").fill(TOKEN)
    page.get_by_role("button", name="Saglabāt").click()
    page.wait_for_load_state()
    assert page.get_by_text("Atvērto datu portāla iestatījumi saglabāti.").count() == 1
    assert TOKEN not in page.content()
    assert page.get_by_label("API pilnvara").input_value() == ""  # masked, never shown again
    assert_accessible(page)

    # Publish from the dataset's manage page; the name is taken in the portal by another package.
    page.goto("/catalog/iedzivotaji/manage/")
    page.get_by_role("link", name="Atvērto datu portāls").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("button", name="Publicēt atvērto datu portālā").click()
    page.wait_for_load_state()
    assert page.get_by_text("Datu kopa drīzumā tiks nosūtīta").count() == 1
    sync()
    page.reload()
    name_field = page.get_by_label("Nosaukums portālā (tīmekļa adrese)")
    assert name_field.get_attribute("aria-invalid") == "true"
    assert page.get_by_text("Šo nosaukumu portālā jau izmanto cita datu kopa").count() == 1
    assert_accessible(page)
    name_field.fill("iedzivotaji-paraugs")
    page.get_by_role("button", name="Nosūtīt vēlreiz").click()
    page.wait_for_load_state()
    sync()
    page.reload()
    assert page.get_by_role("cell", name="izveidots portālā").count() == 1  # the log
    assert page.get_by_role("cell", name="publicēts").count() == 1
    assert_accessible(page)

    page.get_by_role("button", name="Atsaukt no portāla…").click()
    page.wait_for_load_state()
    assert_accessible(page)  # the confirmation page
    page.get_by_role("button", name="Atsaukt no portāla").click()
    page.wait_for_load_state()
    sync()
    page.reload()
    assert page.get_by_role("cell", name="atsaukts no portāla").count() == 1
    assert [p["state"] for p in ckan.packages.values() if p["name"] == "iedzivotaji-paraugs"] == [
        "deleted"
    ]
    assert TOKEN not in page.content()
    assert_accessible(page)
