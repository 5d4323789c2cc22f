"""The data viewer: who may open it, and that it gives exactly the API's answer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dagr.accounts.models import Membership
from dagr.audit.models import AccessEntry
from tests.factories import make_user

from .factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def login(client, user):
    client.force_login(user)


def test_index_lists_grants_and_needs_the_recipient_role(client, w):
    url = reverse("retrieval:index")
    assert client.get(url).status_code == 302  # anonymous → login
    stranger = make_user(institution=w.provider, roles=(Membership.Role.PROVIDER,))
    login(client, stranger)
    assert client.get(url).status_code == 403
    login(client, w.recipient_rep)
    response = client.get(url)
    assert response.status_code == 200
    assert "ATL-1" in response.content.decode()


def test_other_institutions_grant_is_404(client, w):
    other = make_world()
    login(client, w.recipient_rep)
    response = client.get(reverse("retrieval:grant", args=[other.grant.pk]))
    assert response.status_code == 404


def test_lookup_gives_the_apis_records_and_is_audited_with_the_user(client, w):
    api = client.get(
        f"/api/v1/data/{w.dataset.code}/records/board_members.personal_code/P-SHARED",
        **w.headers(),
    ).json()["records"]
    login(client, w.recipient_rep)
    before = AccessEntry.objects.count()
    response = client.post(
        reverse("retrieval:grant", args=[w.grant.pk]),
        {"mode": "lookup", "lookup-field": "board_members.personal_code",
         "lookup-value": "P-SHARED"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["result"].records == api
    assert len(api) == 20
    entry = AccessEntry.objects.order_by("-id").first()
    assert AccessEntry.objects.count() == before + 1
    assert entry.user_id == w.recipient_rep.pk and entry.connection_id is None
    assert entry.institution_id == w.recipient.pk and entry.records_returned == 20
    html = response.content.decode()
    assert "secret" not in html and "5000" not in html  # no note, no board salary
    assert "valdes loceklis" in html


def test_browse_pages_match_the_api(client, w):
    login(client, w.recipient_rep)
    url = reverse("retrieval:grant", args=[w.grant.pk])
    viewer = client.post(url, {"mode": "browse", "browse-f_city": "Rīga"})
    records = viewer.context["result"].records
    api = client.get(
        f"/api/v1/data/{w.dataset.code}/records", {"city": "Rīga", "limit": 25}, **w.headers()
    ).json()["records"]
    assert records == api and len(api) == 10


def test_not_found_is_shown_not_a_500(client, w):
    login(client, w.recipient_rep)
    url = reverse("retrieval:grant", args=[w.grant.pk])
    response = client.post(
        url, {"mode": "lookup", "lookup-field": "registration_number",
              "lookup-value": "40000000021"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["error"].code == "record_not_found"
    assert 'role="alert"' in response.content.decode()


@pytest.mark.parametrize(("language", "text"), [("lv", "Datu skatītājs"), ("en", "Data viewer")])
def test_page_in_both_languages(client, w, language, text):
    login(client, w.recipient_rep)
    client.cookies["dagr_language"] = language
    response = client.get(reverse("retrieval:grant", args=[w.grant.pk]))
    assert text in response.content.decode()


def test_lookup_by_get_with_the_code_in_the_url_looks_nothing_up(client, w):
    login(client, w.recipient_rep)
    before = AccessEntry.objects.count()
    response = client.get(
        reverse("retrieval:grant", args=[w.grant.pk]),
        {"mode": "lookup", "lookup-field": "board_members.personal_code",
         "lookup-value": "P-SHARED"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["result"] is None
    assert AccessEntry.objects.count() == before
    html = response.content.decode()
    assert 'method="get"' not in html and html.count('method="post"') >= 2
    assert "csrfmiddlewaretoken" in html


def test_lookup_needs_the_csrf_token(w):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login(client, w.recipient_rep)
    response = client.post(
        reverse("retrieval:grant", args=[w.grant.pk]),
        {"mode": "lookup", "lookup-field": "board_members.personal_code",
         "lookup-value": "P-SHARED"},
    )  # fmt: skip
    assert response.status_code == 403


def test_next_page_is_posted_with_the_filters_not_a_link(client, w, monkeypatch):
    from dagr.retrieval import views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    login(client, w.recipient_rep)
    url = reverse("retrieval:grant", args=[w.grant.pk])
    first = client.post(url, {"mode": "browse", "browse-f_city": "Rīga"})
    html = first.content.decode()
    assert "cursor=" not in html and "?mode=" not in html
    fields = dict(first.context["next_page"])
    assert fields["mode"] == "browse" and fields["browse-f_city"] == "Rīga"
    assert 'name="cursor"' in html
    second = client.post(url, fields)
    seen = {r["registration_number"] for r in first.context["result"].records}
    again = {r["registration_number"] for r in second.context["result"].records}
    assert len(again) == 3 and not seen & again
