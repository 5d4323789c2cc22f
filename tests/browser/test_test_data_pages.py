"""Test data in a real browser: the public pages (axe), and a provider building a release in the
background with the progress page reaching "published"."""

import pytest
from django.core.management import call_command

from dagr.accounts.models import Institution, Membership
from dagr.anonymisation import services
from dagr.anonymisation.models import Release
from dagr.core.actors import SYSTEM
from dagr.records.services import records_upsert
from tests.anonymisation.conftest import decade_settings, persons
from tests.anonymisation.fake_engine import use_fake_engine_if_missing  # noqa: F401 - fixture
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_dataset, make_institution, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("use_fake_engine_if_missing"),
]


@pytest.fixture
def provider_world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    provider = make_institution(kind=Institution.Kind.PROVIDER, name="Reģistru iestāde")
    user = make_user(
        email="anon@example.lv", institution=provider, roles=(Membership.Role.PROVIDER,)
    )
    dataset = make_dataset(provider=provider, code="iedzivotaji", status="production")
    records_upsert(actor=SYSTEM, dataset=dataset, records=persons(30))
    services.settings_update(actor=user, dataset=dataset, **decade_settings(dataset))
    return user, dataset


def test_public_test_data_pages_are_accessible(page, provider_world, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    user, dataset = provider_world
    release = services.release_request(actor=user, datasets=[dataset])
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    page.goto("/test-data/")
    assert page.get_by_role("heading", name="Anonimizēti testa dati").count() == 1
    assert page.get_by_role("heading", name="Reģistru iestāde").count() == 1
    assert_accessible(page)
    page.get_by_role("link", name="(testa dati)").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Privātuma pārskats").count() == 1
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Lejupielādēt CSV").click()
    content = download_info.value.path().read_text(encoding="utf-8-sig")
    assert content.startswith("personal_code,last_name,birth_date")
    assert len(content.strip().splitlines()) == 31


def test_a_background_build_shows_progress_until_published(page, provider_world):
    _user, dataset = provider_world
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill("anon@example.lv")
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()
    page.goto(f"/catalog/{dataset.code}/manage/")
    page.locator("main").get_by_role("link", name="Testa dati").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Noteikumi un privātuma iestatījumi").count() == 1
    assert_accessible(page)
    page.get_by_role("button", name="Veidot laidienu").click()
    page.wait_for_load_state()
    assert page.locator("#release-progress").count() == 1  # queued: the progress bar shows
    assert_accessible(page)
    # the background worker builds it (the real worker loop, until the queue is empty)
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    # no reload here: the page's own script polls the progress and shows the result
    page.get_by_text("Laidiens ir publicēts").wait_for(timeout=15_000)
    assert page.locator("#release-status").inner_text() == "publicēts"
    assert_accessible(page)
    assert Release.objects.get().status == Release.Status.PUBLISHED
