"""User management in a real browser, checked with axe-core (and the strict CSP): two-factor
enrolment and the login's code step, accepting an invitation, the access review page."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from dagr.accounts import invitations, reviews
from dagr.accounts.models import Institution, Membership
from tests.browser.test_accounts_flow import log_in
from tests.conftest import assert_accessible
from tests.factories import make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Role = Membership.Role


@pytest.mark.usefixtures("two_factor_enforced")
def test_signatory_enrols_then_logs_in_with_a_code(page):
    institution = make_institution(kind=Institution.Kind.BOTH, name="Valsts zemes dienests")
    make_user(email="paraksts@example.lv", institution=institution, roles=(Role.SIGNATORY,))
    log_in(page, "paraksts@example.lv")
    assert page.url.endswith("/accounts/profile/two-factor/set-up/")  # sent to enrolment
    assert page.locator("figure.qr svg").count() == 1
    assert_accessible(page)
    page.goto("/accounts/users/")  # nothing else until done
    assert page.url.endswith("/accounts/profile/two-factor/set-up/")
    secret = page.locator("code.secret").inner_text().strip()
    page.get_by_label("Kods no lietotnes").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Ieslēgt").click()
    page.wait_for_load_state()
    assert page.locator("ul.recovery-codes li").count() == 10
    assert_accessible(page)
    page.get_by_role("link", name="Esmu tos saglabājis").click()
    page.wait_for_load_state()
    assert page.url.endswith("/dashboard/")

    page.context.clear_cookies()
    log_in(page, "paraksts@example.lv")
    assert page.url.endswith("/accounts/login/code/")
    assert_accessible(page)
    page.get_by_label("Kods").fill("000000")
    page.get_by_role("button", name="Turpināt").click()
    page.wait_for_load_state()
    assert page.locator(".errorlist").count() >= 1
    assert_accessible(page)
    page.get_by_label("Kods").fill(pyotp.TOTP(secret).at(int(time.time()) + 30))
    page.get_by_role("button", name="Turpināt").click()
    page.wait_for_load_state()
    assert page.url.endswith("/dashboard/")


def test_invitation_acceptance(page):
    institution = make_institution(kind=Institution.Kind.RECIPIENT, name="Rīgas pašvaldība")
    signatory = make_user(institution=institution, roles=(Role.SIGNATORY,))
    invitation = invitations.invitation_create(
        actor=signatory, institution=institution, email="jauna@example.lv", roles=["recipient"]
    )
    path = re.sub(r"^https?://[^/]+", "", invitations.invitation_url(invitation))
    page.goto(path)
    assert "Rīgas pašvaldība" in page.content()
    assert_accessible(page)
    page.locator("#id_first_name").fill("Ilze")
    page.locator("#id_last_name").fill("Ozola")
    page.locator("#id_password1").fill("Drosa-Parole-2026!")
    page.locator("#id_password2").fill("Drosa-Parole-2026!")
    page.get_by_role("button", name="Izveidot manu kontu").click()
    page.wait_for_load_state()
    assert page.url.endswith("/dashboard/")
    page.goto(path)  # used: a clear page
    assert page.get_by_role("heading", level=1).inner_text() == "Uzaicinājumu nevar izmantot"
    assert_accessible(page)


def test_access_review_page(page):
    institution = make_institution(kind=Institution.Kind.BOTH, name="Datu iestāde")
    make_user(email="paraksts@example.lv", institution=institution, roles=(Role.SIGNATORY,))
    make_user(institution=institution, roles=(Role.PROVIDER,), last_name="Kalniņš")
    Membership.objects.update(created_at=Membership.objects.first().created_at.replace(year=2020))
    reviews.reviews_open_due()
    log_in(page, "paraksts@example.lv")
    page.get_by_role("link", name="Datu iestāde").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/accounts/access-reviews/{institution.pk}/")
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Apstiprināt .*Kalniņš")).click()
    page.wait_for_load_state()
    assert page.locator(".badge-active", has_text="apstiprināta").count() == 1
    assert_accessible(page)
