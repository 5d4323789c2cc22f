"""Upload → preview → confirm → progress → summary → download, in a real browser, with axe."""

import pytest
from django.core.management import call_command

from dagr.accounts.models import Institution, Membership
from dagr.records.models import Record
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_dataset, make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = b"personal_code,last_name,birth_date\n32000000019,Ozola,1980-01-02\n123,Liepa,nav-datums\n"
GOOD = (
    b"personal_code,last_name,birth_date\n"
    b"32000000019,Ozola,1980-01-02\n32000000027,Liepa,1990-05-17\n"
)


def test_upload_preview_confirm_and_download(page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    provider = make_institution(kind=Institution.Kind.PROVIDER)
    make_user(email="loader@example.lv", institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(provider=provider, code="iedzivotaji")
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill("loader@example.lv")
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()

    page.goto(f"/uploads/datasets/{dataset.code}/")
    assert_accessible(page)
    bad = tmp_path / "slikts.csv"
    bad.write_bytes(BAD)
    page.get_by_label("Datu fails").set_input_files(str(bad))
    page.get_by_role("button", name="Pārbaudīt failu").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Kļūdas", exact=True).count() == 1
    assert page.get_by_role("cell", name="personal_code").count() >= 1  # the column of the error
    assert page.get_by_role("button", name="Apstiprināt un ielādēt").is_disabled()
    assert_accessible(page)

    page.goto(f"/uploads/datasets/{dataset.code}/")
    good = tmp_path / "labs.csv"
    good.write_bytes(GOOD)
    page.get_by_label("Datu fails").set_input_files(str(good))
    page.get_by_role("button", name="Pārbaudīt failu").click()
    page.wait_for_load_state()
    assert "Nekas vēl nav saglabāts" in page.content()
    assert page.locator("dt:has-text('Tiks izveidoti') + dd").inner_text() == "2"
    assert_accessible(page)
    assert Record.objects.filter(dataset=dataset).count() == 0

    page.get_by_role("button", name="Apstiprināt un ielādēt").click()
    page.wait_for_load_state()
    assert page.locator("#load-progress").count() == 1  # queued: the progress bar shows
    # the background worker picks the load up (the real worker loop, until the queue is empty)
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    # no reload here: the page's own script polls the progress and shows the summary
    page.get_by_text("Fails ir ielādēts.").wait_for(timeout=15_000)
    assert page.get_by_role("heading", name="Kopsavilkums").count() == 1
    assert page.locator("dt:has-text('Izveidoti ieraksti') + dd").inner_text() == "2"
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 2
    assert_accessible(page)

    page.goto(f"/uploads/datasets/{dataset.code}/")  # the history: both files, one loaded
    assert page.get_by_role("link", name="labs.csv", exact=True).count() == 1
    assert page.get_by_role("link", name="slikts.csv", exact=True).count() == 1
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()
    content = download_info.value.path().read_text(encoding="utf-8-sig")
    assert "32000000027" in content and "Liepa" in content
