"""Portal pages of record sets: access (anonymous → login, other roles 403, other institutions
404), creating a set, changing its name and conditions (errors next to the fields, the feed
restart told beforehand and done), CSV upload with per-line errors, removal, deletion, both
languages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dagr.accounts.models import Institution, Membership
from dagr.grants.models import Grant
from dagr.monitoring import deliveries, services
from dagr.monitoring.models import RecordSet, RecordSetIdentifier
from tests.factories import make_institution, make_user
from tests.retrieval.factories import make_world, set_grant

from .record_set_helpers import make_set, watch

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return make_world()


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("ids.csv", text.encode(), content_type="text/csv")


def values_of(record_set: RecordSet) -> list[str]:
    return sorted(
        RecordSetIdentifier.objects.filter(record_set=record_set).values_list("value", flat=True)
    )


def test_access_anonymous_other_roles_and_other_institutions(client, w):
    record_set = make_set(w)
    base = f"/record-sets/{record_set.pk}"
    urls = ["/record-sets/", "/record-sets/new/", f"{base}/", f"{base}/delete/", f"{base}/edit/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login" in response["Location"], url
    client.force_login(w.provider_rep)  # a provider representative: no recipient role
    for url in urls:
        assert client.get(url).status_code == 403, url
    stranger = make_user(
        institution=make_institution(kind=Institution.Kind.RECIPIENT),
        roles=(Membership.Role.RECIPIENT,),
    )
    client.force_login(stranger)
    assert record_set.name not in client.get("/record-sets/").content.decode()
    for url in urls[2:]:
        assert client.get(url).status_code == 404, url
    response = client.post(
        f"/record-sets/{record_set.pk}/upload/", {"file": csv_file("1\n"), "mode": "add"}
    )
    assert response.status_code == 404
    assert client.post(f"/record-sets/{record_set.pk}/delete/").status_code == 404
    edit = client.post(f"/record-sets/{record_set.pk}/edit/", {"name": "Svešs"})
    assert edit.status_code == 404
    assert client.get(f"/record-sets/new/?grant={w.grant.pk}").status_code == 404
    assert RecordSet.objects.filter(pk=record_set.pk).exists()
    client.logout()
    edit = client.post(f"/record-sets/{record_set.pk}/edit/", {"name": "Svešs"})
    assert edit.status_code == 302 and "/accounts/login" in edit["Location"]
    record_set.refresh_from_db()
    assert record_set.name == "Mani uzņēmumi"


def test_create_through_the_portal(client, w):
    client.force_login(w.recipient_rep)
    page = client.get("/record-sets/new/").content.decode()
    assert f"?grant={w.grant.pk}" in page
    url = f"/record-sets/new/?grant={w.grant.pk}"
    page = client.get(url).content.decode()
    assert "board_members.personal_code" in page and "secret_note" not in page
    response = client.post(
        url,
        {"name": "Rīgas valdes", "identifier_field": "board_members.personal_code",
         "c0-field": "city", "c0-op": "eq", "c0-value": "Rīga", "c0-unit": "years"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    record_set = RecordSet.objects.get()
    assert response["Location"] == f"/record-sets/{record_set.pk}/"
    assert record_set.conditions == [{"field": "city", "op": "eq", "value": "Rīga"}]
    response = client.post(url, {"name": "", "identifier_field": ""})
    assert response.status_code == 200 and RecordSet.objects.count() == 1


def test_upload_add_replace_and_line_errors(client, w):
    record_set = make_set(w)
    client.force_login(w.recipient_rep)
    url = f"/record-sets/{record_set.pk}/upload/"
    response = client.post(url, {"file": csv_file("40000000001\n40000000002\n"), "mode": "add"})
    assert response.status_code == 302
    assert values_of(record_set) == ["40000000001", "40000000002"]
    page = client.get(f"/record-sets/{record_set.pk}/").content.decode()
    assert "40000000002" in page
    bad = "registration_number\n40000000003\n\n" + "x" * 300 + "\n"
    response = client.post(url, {"file": csv_file(bad), "mode": "replace"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'role="alert"' in page and '<td class="num">4</td>' in page
    assert values_of(record_set) == ["40000000001", "40000000002"]
    response = client.post(url, {"file": csv_file("40000000009\n"), "mode": "replace"})
    assert response.status_code == 302 and values_of(record_set) == ["40000000009"]
    assert client.post(url, {"mode": "add"}).status_code == 422  # no file


def test_remove_paging_and_delete(client, w):
    record_set = make_set(w)
    watch(w, record_set, *[f"V{n:03d}" for n in range(120)])
    client.force_login(w.recipient_rep)
    page = client.get(f"/record-sets/{record_set.pk}/").content.decode()
    assert "V000" in page and "V049" in page and "V050" not in page and "?cursor=" in page
    response = client.post(f"/record-sets/{record_set.pk}/remove/", {"values": "V000\nV001\n"})
    assert response.status_code == 302 and len(values_of(record_set)) == 118
    page = client.get(f"/record-sets/{record_set.pk}/", {"q": "V11"}).content.decode()
    assert "V110" in page and "V002" not in page
    confirm = client.get(f"/record-sets/{record_set.pk}/delete/")
    assert confirm.status_code == 200 and record_set.name in confirm.content.decode()
    assert client.post(f"/record-sets/{record_set.pk}/delete/").status_code == 200
    assert RecordSet.objects.exists()  # a POST without the confirmation deletes nothing
    response = client.post(f"/record-sets/{record_set.pk}/delete/", {"confirm": "yes"})
    assert response.status_code == 302 and not RecordSet.objects.exists()


@pytest.mark.parametrize(
    ("language", "text"), [("lv", "Uzraudzītie ieraksti"), ("en", "Monitored records")]
)
def test_pages_in_both_languages(client, w, language, text):
    record_set = make_set(w)
    client.force_login(w.recipient_rep)
    client.cookies["django_language"] = language
    for url in ["/record-sets/", f"/record-sets/{record_set.pk}/"]:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert text in response.content.decode(), url
    dashboard = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE=language)
    if dashboard.status_code == 200:
        assert "/record-sets/" in dashboard.content.decode()


def edit_data(name: str, *rows: tuple[str, str, str]) -> dict[str, str]:
    data = {"name": name}
    for n, (field, op, value) in enumerate(rows):
        data.update({f"c{n}-field": field, f"c{n}-op": op, f"c{n}-value": value})
        data[f"c{n}-unit"] = "years"
    return data


def test_edit_page_shows_the_definition_and_warns_before_saving(client, w):
    record_set = make_set(
        w,
        conditions=[
            {"field": "city", "op": "in", "value": ["Rīga", "Liepāja"]},
            {"field": "founded", "op": "older_than", "value": {"months": 6}},
            {"field": "employees", "op": "between", "value": [10, 20]},
            {"field": "active", "op": "eq", "value": True},
        ],
    )
    client.force_login(w.recipient_rep)
    detail = client.get(f"/record-sets/{record_set.pk}/").content.decode()
    assert f'href="/record-sets/{record_set.pk}/edit/"' in detail
    assert "Mainīt nosaukumu vai nosacījumus" in detail
    assert "Iestatīt tīmekļa āķi" in detail  # no webhook yet: the way to set one up
    response = client.get(f"/record-sets/{record_set.pk}/edit/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 5  # the four conditions and an empty row
    assert [rows[n].initial for n in range(4)] == [
        {"field": "city", "op": "in", "value": "Rīga; Liepāja", "value_to": "", "unit": ""},
        {"field": "founded", "op": "older_than", "value": "6", "value_to": "", "unit": "months"},
        {"field": "employees", "op": "between", "value": "10", "value_to": "20", "unit": ""},
        {"field": "active", "op": "eq", "value": "true", "value_to": "", "unit": ""},
    ]
    page = response.content.decode()
    assert 'value="Mani uzņēmumi"' in page and 'value="Rīga; Liepāja"' in page
    assert "secret_note" not in page  # only granted fields are offered
    assert "<code>409 cursor_outdated</code>" in page
    assert "Šai ierakstu kopai nav tīmekļa āķa" in page
    # Saving the page unchanged changes nothing (the rows give back the same conditions).
    data = edit_data(
        "Mani uzņēmumi", ("city", "in", "Rīga; Liepāja"), ("founded", "older_than", "6"),
        ("employees", "between", "10"), ("active", "eq", "true"),
    )  # fmt: skip
    data.update({"c1-unit": "months", "c2-value_to": "20"})
    response = client.post(f"/record-sets/{record_set.pk}/edit/", data)
    assert response.status_code == 302
    before = record_set.conditions
    record_set.refresh_from_db()
    assert record_set.conditions == before
    deliveries.subscription_create(
        actor=w.recipient_rep, record_set_id=record_set.pk, url="https://8.8.8.8/hook"
    )
    page = client.get(f"/record-sets/{record_set.pk}/edit/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "The webhook starts again from the beginning" in text
    assert "are not sent as “deleted”" in text
    data["c3-value"] = "false"
    response = client.post(f"/record-sets/{record_set.pk}/edit/", data, follow=True)
    assert "tīmekļa āķis vēlreiz nosūta kopas pašreizējos ierakstus" in response.content.decode()


def test_rename_keeps_the_feed_and_new_conditions_restart_it(client, w, settings):
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = False
    record_set = make_set(w, identifier_field="")
    client.force_login(w.recipient_rep)
    api = {"HTTP_AUTHORIZATION": f"Bearer {w.tokens['recipient']}"}
    feed = f"/api/v1/record-sets/{record_set.pk}/changes"
    cursor = client.get(feed, {"limit": 5}, **api).json()["next_cursor"]
    url = f"/record-sets/{record_set.pk}/edit/"
    response = client.post(url, edit_data("Jaunais nosaukums"))
    assert response.status_code == 302 and response["Location"] == f"/record-sets/{record_set.pk}/"
    record_set.refresh_from_db()
    assert record_set.name == "Jaunais nosaukums" and record_set.conditions == []
    page = client.get(response["Location"]).content.decode()
    assert "Ierakstu kopa nomainīta." in page and "cursor_outdated" not in page
    assert client.get(feed, {"cursor": cursor}, **api).status_code == 200  # still valid
    response = client.post(url, edit_data("Jaunais nosaukums", ("city", "eq", "Rīga")))
    assert response.status_code == 302
    record_set.refresh_from_db()
    assert record_set.conditions == [{"field": "city", "op": "eq", "value": "Rīga"}]
    page = client.get(response["Location"]).content.decode()
    assert "saņem 409 cursor_outdated." in page  # what happened, said once more
    assert "tīmekļa āķis vēlreiz nosūta" not in page  # the set has no webhook
    outdated = client.get(feed, {"cursor": cursor}, **api)
    assert outdated.status_code == 409 and outdated.json()["code"] == "cursor_outdated"


def test_edit_errors_are_shown_next_to_the_fields(client, w):
    record_set = make_set(w, conditions=[{"field": "city", "op": "eq", "value": "Rīga"}])
    client.force_login(w.recipient_rep)
    url = f"/record-sets/{record_set.pk}/edit/"
    response = client.post(url, edit_data("", ("city", "eq", "Rīga")))
    assert response.status_code == 422
    assert response.context["form"].errors["name"]
    # The second filled row (the third on the page) uses an operator its field does not have.
    data = edit_data(
        "Labs", ("city", "eq", "Rīga"), ("", "", ""), ("city", "older_than", "5"),
    )  # fmt: skip
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    rows = response.context["rows"]
    assert rows[2].errors["op"] == [
        "the operator 'older_than' cannot be used with a field of type string"
    ]
    assert not rows[0].errors and not rows[1].errors
    assert response.context["form"].non_field_errors() == ["The conditions are not valid."]
    assert response.context["record_set"].name == "Mani uzņēmumi"  # not the unsaved name
    page = response.content.decode()
    assert "cannot be used with a field of type string" in page
    response = client.post(url, edit_data("Labs", ("employees", "gte", "daudz")))
    assert response.status_code == 422
    assert response.context["rows"][0].errors["value"]
    response = client.post(url, edit_data("Labs", ("secret_note", "eq", "x")))
    assert response.status_code == 422 and response.context["rows"][0].errors["field"]
    record_set.refresh_from_db()
    assert record_set.name == "Mani uzņēmumi"
    assert record_set.conditions == [{"field": "city", "op": "eq", "value": "Rīga"}]
    assert services.record_set_terms(record_set)  # unchanged definition


def test_create_errors_are_shown_next_to_the_fields(client, w):
    client.force_login(w.recipient_rep)
    url = f"/record-sets/new/?grant={w.grant.pk}"
    response = client.post(
        url,
        {"name": "X", "identifier_field": "", "c0-field": "active", "c0-op": "gt",
         "c0-value": "true", "c0-unit": "years"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert response.status_code == 200 and not RecordSet.objects.exists()
    assert response.context["rows"][0].errors["op"]


def test_a_record_set_under_a_revoked_grant_says_what_to_do(client, w):
    record_set = make_set(w)
    client.force_login(w.recipient_rep)
    page = client.get(f"/record-sets/{record_set.pk}/").content.decode()
    assert "pašlaik nav derīga" not in page
    set_grant(w.grant, status=Grant.Status.REVOKED)
    page = client.get(f"/record-sets/{record_set.pk}/").content.decode()
    assert "Šīs ierakstu kopas piekļuves atļauja pašlaik nav derīga" in page
    assert "pieprasiet jaunu piekļuves atļauju" in page and 'href="/grants/' in page
