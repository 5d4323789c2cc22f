"""Portal pages of the access audit: a provider's "who used the data" per dataset and an
administrator's "who read this person's data" — who may open them, filters, pages, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from dagr.accounts.models import Membership
from tests.audit.test_access_api import PERSON, PERSON_COMPACT, World, build_world
from tests.factories import make_admin, make_user

pytestmark = pytest.mark.django_db

WHO_READ = "/audit/who-read/"


def dataset_url(code: str) -> str:
    return reverse("audit:dataset_access", args=[code])


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def representative(world: World) -> Any:
    return make_user(institution=world.provider, roles=(Membership.Role.PROVIDER,))


def rows_of(response: Any) -> list[dict[str, Any]]:
    return response.context["rows"]


# --- who may open the pages ----------------------------------------------------------------------


def test_the_urls_are_where_the_brief_says():
    assert dataset_url("persons") == "/audit/datasets/persons/"
    assert reverse("audit:who_read") == WHO_READ


def test_dataset_page_permission_matrix(client, world, representative):
    # anonymous: to the login page
    response = client.get(dataset_url("persons"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    # the dataset's provider representative and an administrator
    client.force_login(representative)
    assert client.get(dataset_url("persons")).status_code == 200
    assert client.get(dataset_url("person-addresses")).status_code == 200  # sandbox, own
    client.force_login(make_admin())
    assert client.get(dataset_url("companies")).status_code == 200

    # another provider's representative: a production dataset is visible but not theirs (403);
    # a sandbox dataset is invisible (404, like a missing one)
    stranger = make_user(institution=world.other_provider, roles=(Membership.Role.PROVIDER,))
    client.force_login(stranger)
    assert client.get(dataset_url("persons")).status_code == 403
    assert client.get(dataset_url("person-addresses")).status_code == 404
    assert client.get(dataset_url("no-such-dataset")).status_code == 404

    # a recipient's representative and a signatory of the provider: not provider representatives
    reader = make_user(institution=world.recipient, roles=(Membership.Role.RECIPIENT,))
    client.force_login(reader)
    assert client.get(dataset_url("persons")).status_code == 403
    signatory = make_user(institution=world.provider, roles=(Membership.Role.SIGNATORY,))
    client.force_login(signatory)
    assert client.get(dataset_url("persons")).status_code == 403


def test_who_read_page_permission_matrix(client, world, representative):
    response = client.get(WHO_READ)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(WHO_READ, {"identifier": PERSON}).status_code == 302
    client.force_login(representative)
    assert client.get(WHO_READ).status_code == 403
    assert client.post(WHO_READ, {"identifier": PERSON}).status_code == 403
    client.force_login(make_admin())
    assert client.get(WHO_READ).status_code == 200


# --- "who used the data" -------------------------------------------------------------------------


def test_dataset_page_lists_only_that_dataset_newest_first(client, world, representative):
    client.force_login(representative)
    response = client.get(dataset_url("persons"))
    rows = rows_of(response)
    assert len(rows) == 13 and {r["dataset"] for r in rows} == {"persons"}
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    html = response.content.decode()
    assert "Valsts ieņēmumu dienests" in html and world.recipient_client_id in html
    assert f"recipient system <code>{world.recipient_client_id}</code>" in html  # name beside id
    assert "Anna Kalniņa" in html and "VID-2026/17" in html
    assert '<th scope="col">' in html and 'aria-current="page"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_dataset_page_filters_by_identifier_recipient_and_period(client, world, representative):
    client.force_login(representative)
    url = dataset_url("persons")
    by_person = client.post(url, {"identifier": PERSON_COMPACT})
    assert by_person.status_code == 200
    assert sorted(r["request_id"] for r in rows_of(by_person)) == ["", "req-2", "req-5", "req-9"]
    by_recipient = client.post(url, {"recipient": world.second_recipient.pk})
    assert [r["user_label"] for r in rows_of(by_recipient)] == ["Anna Kalniņa"]
    one_day = client.post(url, {"since": "2026-03-02", "until": "2026-03-02"})
    assert len(rows_of(one_day)) == 12
    # the identifier never appears in a URL: the form is sent with POST
    assert 'method="post"' in by_person.content.decode()


def test_dataset_page_rejects_bad_filters_clearly(client, world, representative):
    client.force_login(representative)
    url = dataset_url("persons")
    backwards = client.post(
        url, {"since": "2026-03-05", "until": "2026-03-01"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert backwards.status_code == 422
    assert "The end of the period is before its start." in backwards.content.decode()
    assert backwards.context["rows"] == []
    bad_cursor = client.post(url, {"cursor": "nonsense"})
    assert bad_cursor.status_code == 422
    assert "lapas" in bad_cursor.content.decode()  # Latvian message about the page cursor
    not_a_recipient = client.post(url, {"recipient": "999999"})
    assert not_a_recipient.status_code == 422


def test_dataset_page_pages_without_duplicates_or_gaps(client, world, representative, monkeypatch):
    monkeypatch.setattr("dagr.oversight.views.PAGE_SIZE", 5)
    client.force_login(representative)
    url = dataset_url("persons")
    first = client.get(url)
    seen = [r["request_id"] for r in rows_of(first)]
    cursor = first.context["next_cursor"]
    assert cursor and f'value="{cursor}"' in first.content.decode()
    while cursor:
        page = client.post(url, {"cursor": cursor})
        seen += [r["request_id"] for r in rows_of(page)]
        cursor = page.context["next_cursor"]
    assert len(seen) == 13 and len(set(seen)) == 13


def test_dataset_page_downloads_csv(client, world, representative):
    client.force_login(representative)
    response = client.post(dataset_url("persons"), {"format": "csv", "identifier": PERSON})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="audit-persons-' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "time" and len(rows) == 1 + 4
    assert PERSON not in body and PERSON_COMPACT not in body


def test_manage_page_links_to_the_audit_page(client, world, representative):
    client.force_login(representative)
    html = client.get(reverse("catalog:dataset_manage", args=["persons"])).content.decode()
    assert dataset_url("persons") in html


def test_dataset_page_in_latvian_and_english(client, world, representative):
    client.force_login(representative)
    latvian = client.get(dataset_url("persons"), HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Kas izmantoja datus" in latvian
    english = client.get(dataset_url("persons"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Who used the data" in english.content.decode()


# --- "who read this person's data" ---------------------------------------------------------------


def test_who_read_page_explains_that_the_identifier_is_not_stored(client, world):
    client.force_login(make_admin())
    html = client.get(WHO_READ).content.decode()
    assert "Kas lasīja šīs personas datus" in html
    assert "netiek glabāts" in html  # "is not stored"
    assert 'method="post"' in html and 'for="id_identifier"' in html


@pytest.mark.parametrize("value", [PERSON, PERSON_COMPACT])
def test_who_read_page_shows_institutions_and_entries(client, world, value):
    client.force_login(make_admin())
    response = client.post(WHO_READ, {"identifier": value})
    assert response.status_code == 200
    summary = {(s["institution"]["name"], s["dataset"]): s for s in response.context["summary"]}
    assert set(summary) == {
        ("Valsts ieņēmumu dienests", "persons"),
        ("Rīgas valstspilsētas pašvaldība", "persons"),
        ("Valsts ieņēmumu dienests", "companies"),
    }
    assert summary[("Valsts ieņēmumu dienests", "persons")]["accesses"] == 3
    assert len(response.context["rows"]) == 5
    html = response.content.decode()
    assert '<th scope="row">' in html and "Uzņēmumu reģistrs" not in html
    assert "companies" in html


def test_who_read_page_rejects_an_empty_identifier(client, world):
    client.force_login(make_admin())
    response = client.post(WHO_READ, {"identifier": " - "}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "Enter an identifier." in response.content.decode()
    assert not response.context["searched"]


def test_who_read_page_for_an_unknown_person(client, world):
    client.force_login(make_admin())
    response = client.post(WHO_READ, {"identifier": "010101-10009"})
    assert response.status_code == 200
    assert response.context["summary"] == [] and response.context["rows"] == []


# --- in a real browser, with axe-core -------------------------------------------------------------


def _log_in(page: Any, email: str) -> None:
    from tests.conftest import TEST_PASSWORD

    page.goto("/accounts/login/")
    page.get_by_label("E-pasts").fill(email)
    page.get_by_label("Parole").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Pieslēgties").click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_audit_pages_in_a_browser_are_accessible(page):
    from tests.conftest import assert_accessible

    world = build_world()
    make_user(
        email="devejs@example.lv", institution=world.provider, roles=(Membership.Role.PROVIDER,)
    )
    make_admin(email="admins@example.lv")
    _log_in(page, "devejs@example.lv")
    page.goto(dataset_url("persons"))
    assert page.locator("h1").inner_text().startswith("Kas izmantoja datus")
    assert page.locator("tbody tr").count() == 13
    assert_accessible(page)
    page.get_by_label("Identifikators").fill(PERSON)
    page.get_by_role("button", name="Rādīt").click()
    page.wait_for_load_state()
    assert page.locator("tbody tr").count() == 4
    assert PERSON not in page.url
    assert_accessible(page)

    page.context.clear_cookies()
    _log_in(page, "admins@example.lv")
    page.goto(WHO_READ)
    assert_accessible(page)
    page.get_by_label("Personas kods vai cits identifikators").fill(PERSON_COMPACT)
    page.get_by_role("button", name="Meklēt").click()
    page.wait_for_load_state()
    summary = page.get_by_role("region", name="Iestādes, kas lasīja datus")
    assert summary.locator("tbody tr").count() == 3
    assert_accessible(page)
