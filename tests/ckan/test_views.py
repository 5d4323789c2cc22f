"""The open data portal pages: access (anonymous → login, others 403/404), the settings form
(token masked, never shown, empty keeps it, SSRF refusal next to the field), publish and
withdraw (confirmation), CKAN's field errors in words next to the field, Latvian first."""

import pytest
from django.urls import reverse
from django.utils import translation

from dagr.accounts.models import Institution, Membership
from dagr.ckan.models import PortalConfig, Publication
from tests.ckan.conftest import TOKEN
from tests.ckan.helpers import make_world
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(ckan, monkeypatch):
    world = make_world(ckan, monkeypatch)
    world.settings_url = reverse("ckan:settings", args=[world.provider.pk])
    world.page_url = reverse("ckan:publication", args=[world.dataset.code])
    world.withdraw_url = reverse("ckan:withdraw", args=[world.dataset.code])
    return world


def test_access(client, w):
    urls = [reverse("ckan:overview"), w.settings_url, w.page_url, w.withdraw_url]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]
    recipient_org = make_institution(kind=Institution.Kind.RECIPIENT)
    client.force_login(make_user(institution=recipient_org, roles=(Membership.Role.RECIPIENT,)))
    for url in urls:
        assert client.get(url).status_code == 403
    other = make_institution(kind=Institution.Kind.PROVIDER)
    client.force_login(make_user(institution=other, roles=(Membership.Role.PROVIDER,)))
    assert client.get(reverse("ckan:overview")).status_code == 200
    for url in urls[1:]:
        assert client.get(url).status_code == 404
    assert client.post(w.page_url, {"package_name": "x-y"}).status_code == 404
    assert client.post(w.withdraw_url, {"confirm": "yes"}).status_code == 404
    signatory = make_user(institution=w.provider, roles=(Membership.Role.SIGNATORY,))
    client.force_login(signatory)  # same institution, not a data provider representative
    assert client.get(w.page_url).status_code == 403
    assert not Publication.objects.exists()
    client.force_login(w.rep)
    for url in urls[:3]:
        assert client.get(url).status_code == 200
    client.force_login(make_admin())
    assert client.get(w.page_url).status_code == 200
    assert client.get(w.settings_url).status_code == 200


def test_the_settings_page_never_shows_the_token_and_keeps_it_when_empty(client, w, ckan):
    client.force_login(w.rep)
    page = client.get(w.settings_url).content.decode()
    assert TOKEN not in page and ckan.url in page
    assert 'type="password"' in page
    before = PortalConfig.objects.get().token_encrypted
    response = client.post(
        w.settings_url, {"base_url": ckan.url, "organization": "ur", "token": ""}, follow=True
    )
    assert response.status_code == 200
    assert PortalConfig.objects.get().token_encrypted == before
    assert TOKEN not in response.content.decode()


def test_an_internal_address_is_refused_next_to_the_field(client, w, settings):
    settings.DAGR_CKAN_ALLOW_PRIVATE = False
    client.force_login(w.rep)
    with translation.override("en"):
        response = client.post(
            w.settings_url,
            {"base_url": "https://10.1.2.3", "organization": "ur", "token": "abc"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    assert "private, loopback or otherwise internal" in str(
        response.context["form"].errors["base_url"]
    )
    assert PortalConfig.objects.get().base_url != "https://10.1.2.3"


def test_publish_then_status_and_log(client, w, ckan):
    client.force_login(w.rep)
    response = client.post(w.page_url, {"package_name": "companies"})
    assert response.status_code == 302
    assert Publication.objects.get().status == "pending"
    w.sync()
    page = client.get(w.page_url).content.decode()
    assert "publicēts" in page.lower() or "published" in page.lower()
    assert "companies" in page and TOKEN not in page
    response = client.post(w.withdraw_url)  # no confirm: the confirmation page
    assert response.status_code == 200 and Publication.objects.get().wanted
    client.post(w.withdraw_url, {"confirm": "yes"})
    assert not Publication.objects.get().wanted
    w.sync()
    assert next(iter(ckan.packages.values()))["state"] == "deleted"


def test_portal_errors_are_shown_in_words_next_to_the_field(client, w, ckan):
    w.set_graph(title_en="", keywords_lv=("a",))
    client.force_login(w.rep)
    client.post(w.page_url, {"package_name": "companies"})
    assert w.sync() == "rejected"
    response = client.get(w.page_url, HTTP_ACCEPT_LANGUAGE="en")
    with translation.override("en"):
        response = client.get(w.page_url)
    problems = {p.field: p for p in response.context["view"].problems}
    assert set(problems) == {"title_translated", "tags_translated"}
    page = response.content.decode()
    assert "Nosaukums" in page or "Title" in page
    # Latvian (the default language) explanation of CKAN's 'Required language "en" missing'
    assert "angļu" in page or "English" in page


def test_a_taken_name_is_shown_under_the_name_field(client, w, ckan):
    ckan.package_create(
        {
            "name": "companies",
            "owner_org": "ur",
            "title_translated": {"lv": "Cits", "en": "Other"},
            "notes_translated": {"lv": "Cits", "en": "Other"},
        },
        ckan.tokens[TOKEN],
    )
    client.force_login(w.rep)
    client.post(w.page_url, {"package_name": "companies"})
    assert w.sync() == "rejected"
    response = client.get(w.page_url)
    errors = response.context["name_errors"]
    assert len(errors) == 1 and errors[0] != "That URL is already in use."  # in words
    page = response.content.decode()
    assert 'id="package-name-errors"' in page and 'aria-invalid="true"' in page
    assert errors[0] in page
