"""The strict Content-Security-Policy in a real browser: the main pages of every kind of user and
the API docs page (Swagger UI) load without a single CSP violation. (The `page` fixture fails
every browser test on a violation; this test walks the pages that matter on purpose.)"""

import pytest

from tests.conftest import TEST_PASSWORD, csp_violations
from tests.factories import make_admin
from tests.retrieval.factories import make_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()
    assert page.url.endswith("/dashboard/"), page.url


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, (url, policy)
    assert "unsafe-inline" not in policy, (url, policy)
    page.wait_for_load_state("networkidle")
    assert not csp_violations(page.console_messages_seen), (url, page.console_messages_seen)


def test_main_pages_of_every_role_and_the_api_docs_load_without_csp_violations(page):
    w = make_world()
    admin = make_admin(email="admin@example.lv")
    for url in ("/", "/catalog/", f"/catalog/{w.dataset.code}/", "/accounts/login/"):
        visit(page, url)
    visit(page, "/api/v1/docs")
    page.locator("#swagger-ui .swagger-ui").first.wait_for()  # Swagger UI really started
    log_in(page, admin.email)
    for url in ("/dashboard/", "/accounts/audit/", f"/audit/datasets/{w.dataset.code}/"):
        visit(page, url)
    log_in(page, w.provider_rep.email)
    for url in ("/dashboard/", f"/uploads/datasets/{w.dataset.code}/", "/connections/"):
        visit(page, url)
    log_in(page, w.recipient_rep.email)
    for url in ("/dashboard/", "/viewer/", "/record-sets/", "/record-sets/new/"):
        visit(page, url)
    assert not csp_violations(page.console_messages_seen)
