"""Monitored records in a real browser, with axe-core: create a record set, change its
conditions on the edit page, upload watched values from a CSV file, add a webhook (the secret
shown once, not again on reload) and see a failed delivery described in words."""

from pathlib import Path

import pytest

from dagr.monitoring.deliveries import subscription_dispatch
from dagr.monitoring.models import Subscription
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.retrieval.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_record_set_and_webhook_pages(page, settings, tmp_path: Path):
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = True
    w = make_world()
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(w.recipient_rep.email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()

    page.get_by_role("link", name="Uzraudzītie ieraksti").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("link", name="Jauna ierakstu kopa").first.click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("link", name="ATL-1").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_label("Nosaukums").fill("Mūsu partneri")
    page.get_by_label("Identifikatora lauks").select_option("registration_number")
    page.get_by_role("button", name="Izveidot ierakstu kopu").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Mūsu partneri").count() == 1
    assert_accessible(page)

    # The edit page: the current definition, the warning, an error next to its field.
    page.get_by_role("link", name="Mainīt nosaukumu vai nosacījumus").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Pirms maināt nosacījumus").count() == 1
    assert_accessible(page)
    page.get_by_label("Lauks 1", exact=True).select_option("employees")
    page.get_by_label("Operators 1", exact=True).select_option("gte")
    page.get_by_label("Vērtība 1", exact=True).fill("daudz")
    page.get_by_role("button", name="Saglabāt izmaiņas").click()
    page.wait_for_load_state()
    assert page.get_by_text("Nosacījumi nav derīgi").count() >= 1
    assert_accessible(page)
    page.get_by_label("Vērtība 1", exact=True).fill("10")
    page.get_by_role("button", name="Saglabāt izmaiņas").click()
    page.wait_for_load_state()
    assert page.get_by_text("Ierakstu kopa nomainīta.").count() == 1
    assert page.get_by_role("heading", name="Mūsu partneri").count() == 1

    # A CSV file with one bad line: the error names the line, nothing is written.
    bad = tmp_path / "bad.csv"
    bad.write_text("40000000002\n\n" + "x" * 300 + "\n", encoding="utf-8")
    page.get_by_label("CSV fails").set_input_files(str(bad))
    page.get_by_role("button", name="Augšupielādēt").click()
    page.wait_for_load_state()
    assert page.get_by_text("1 rinda nav derīga").count() == 1
    assert page.get_by_role("cell", name="3", exact=True).count() == 1  # the line number
    assert_accessible(page)
    good = tmp_path / "good.csv"
    good.write_text("40000000002\n40000000003\n40000000099\n", encoding="utf-8")
    page.get_by_label("CSV fails").set_input_files(str(good))
    page.get_by_role("button", name="Augšupielādēt").click()
    page.wait_for_load_state()
    assert page.get_by_role("cell", name="40000000099").count() == 1
    assert_accessible(page)

    # The webhook: a local receiver that answers 500 (the operator allows private addresses).
    page.get_by_role("link", name="Iestatīt tīmekļa āķi").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_label("Galapunkta URL").fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Izveidot tīmekļa āķi").click()
    page.wait_for_load_state()
    secret = page.get_by_label("Parakstīšanas noslēpums").input_value()
    assert secret.startswith("whsec_")  # the secret, shown once after the redirect
    assert page.get_by_role("heading", name="Nokopējiet parakstīšanas noslēpumu tagad").count() == 1
    assert_accessible(page)
    page.reload()
    page.wait_for_load_state()
    assert secret not in page.content()  # a reload neither re-submits nor shows it again
    assert Subscription.objects.filter(record_set__name="Mūsu partneri").count() == 1
    subscription = Subscription.objects.get(record_set__name="Mūsu partneri")
    subscription_dispatch(subscription.pk)  # nothing listens on port 9: the attempt fails
    page.goto(f"/record-sets/{subscription.record_set_id}/webhook/")
    page.wait_for_load_state()
    assert page.get_by_text("whsec_").count() == 0  # not shown again
    assert page.get_by_role("cell", name="mēģina vēlreiz").count() == 1
    assert page.get_by_text("Neizdevās izveidot savienojumu").count() == 1
    assert not page.get_by_text("Connection refused").is_visible()  # in the closed details
    page.get_by_text("Tehniskā informācija").click()
    assert page.get_by_text("Connection refused").is_visible()
    assert_accessible(page)
