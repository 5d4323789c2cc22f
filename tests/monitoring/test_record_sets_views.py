"""Portal pages of record sets: access (anonymous → login, other roles 403, other institutions
404), creating a set, CSV upload with per-line errors, removal, deletion, both languages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dagr.accounts.models import Institution, Membership
from dagr.monitoring.models import RecordSet, RecordSetIdentifier
from tests.factories import make_institution, make_user
from tests.retrieval.factories import make_world

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
    urls = ["/record-sets/", "/record-sets/new/", f"/record-sets/{record_set.pk}/",
            f"/record-sets/{record_set.pk}/delete/"]  # fmt: skip
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
    assert client.get(f"/record-sets/new/?grant={w.grant.pk}").status_code == 404
    assert RecordSet.objects.filter(pk=record_set.pk).exists()


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
    response = client.post(f"/record-sets/{record_set.pk}/delete/")
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
