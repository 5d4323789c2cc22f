"""Logging in, the dashboard and the user pages in a real browser, checked with axe-core."""

import pytest

from dagr.accounts.models import Institution, Membership
from tests.conftest import TEST_PASSWORD, assert_accessible
from tests.factories import make_admin, make_institution, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(email)
    page.get_by_label("Parole").fill(password)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()


def test_login_page_and_wrong_password_message(page):
    make_user(email="anna@example.lv")
    page.goto("/accounts/login/")
    assert_accessible(page)
    log_in(page, "anna@example.lv", "nepareizi-123")
    assert "/accounts/login/" in page.url
    assert page.locator(".errorlist, .message-error").count() >= 1


def test_signatory_logs_in_sees_dashboard_and_users(page):
    institution = make_institution(kind=Institution.Kind.BOTH, name="Valsts ieņēmumu dienests")
    make_user(
        email="paraksts@example.lv",
        institution=institution,
        roles=(Membership.Role.SIGNATORY, Membership.Role.PROVIDER),
    )
    make_user(
        email="kolega@example.lv", institution=institution, roles=(Membership.Role.RECIPIENT,)
    )
    log_in(page, "paraksts@example.lv")
    assert page.url.endswith("/dashboard/")
    assert page.get_by_role("heading", level=1).inner_text() == "Mans pārskats"
    assert_accessible(page)
    page.goto("/accounts/users/")
    assert page.get_by_text("kolega@example.lv").count() >= 1
    assert_accessible(page)


def test_admin_pages_are_accessible(page):
    make_admin(email="admin@example.lv")
    log_in(page, "admin@example.lv")
    for url in ("/accounts/institutions/", "/accounts/users/", "/accounts/audit/"):
        page.goto(url)
        assert page.locator("h1").count() == 1, url
        assert_accessible(page)


def test_registration_form_is_accessible(page):
    make_institution(kind=Institution.Kind.RECIPIENT, name="Rīgas valstspilsētas pašvaldība")
    page.goto("/accounts/register/")
    assert_accessible(page)
