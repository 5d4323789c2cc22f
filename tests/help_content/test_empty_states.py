"""The empty lists of the portal say what to do next and link to the help article about it."""

from __future__ import annotations

import pytest

from dagr.accounts.models import Institution, Membership
from tests.factories import make_admin, make_dataset, make_institution, make_user
from tests.help_content.articles import all_articles

pytestmark = pytest.mark.django_db
R, P, S = Membership.Role.RECIPIENT, Membership.Role.PROVIDER, Membership.Role.SIGNATORY
SLUGS = {article.slug for article in all_articles()}


def page(client, user, url: str, language: str = "en") -> str:
    if user is not None:
        client.force_login(user)
    answer = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 200, url
    return answer.content.decode()


@pytest.fixture
def recipient():
    return make_user(institution=make_institution(kind=Institution.Kind.RECIPIENT), roles=(R,))


@pytest.fixture
def provider_user():
    institution = make_institution(kind=Institution.Kind.PROVIDER)
    user = make_user(institution=institution, roles=(P,))
    return user, make_dataset(provider=institution, code="tuksa-kopa")


@pytest.mark.parametrize(
    ("who", "url", "slug"),
    [
        ("recipient", "/grants/", "request-access"),
        ("recipient", "/connections/", "register-connection"),
        ("recipient", "/record-sets/", "record-sets"),
        ("recipient", "/viewer/", "request-access"),
        ("recipient", "/notifications/", "notifications"),
        ("provider", "/grants/", "approve-access-requests"),
        ("provider", "/uploads/datasets/tuksa-kopa/", "upload-file"),
        ("public", "/test-data/", "build-test-data"),
        ("admin", "/accounts/invitations/", "manage-users"),
        ("admin", "/accounts/applications/?status=rejected", "approve-applications"),
    ],
)
def test_an_empty_list_links_its_help_article(client, recipient, provider_user, who, url, slug):
    user = {
        "recipient": recipient,
        "provider": provider_user[0],
        "public": None,
        "admin": make_admin(),
    }[who]
    assert slug in SLUGS
    html = page(client, user, url)
    empty = html.split('class="empty-state"', 1)
    assert len(empty) == 2, f"{url}: no empty state"
    assert f'href="/help/{slug}/"' in empty[1].split("</div>", 1)[0]


def test_the_empty_state_speaks_latvian(client, recipient):
    html = page(client, recipient, "/connections/", language="lv")
    assert "Kā reģistrēt savienojumu" in html and "Reģistrējiet savienojumu katrai sistēmai" in html
