"""The public test data pages and downloads, and who may open the provider's pages."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from dagr.anonymisation import services
from dagr.anonymisation.models import Release, TestDataSettings
from dagr.core.actors import SYSTEM
from dagr.records.services import records_upsert
from tests.anonymisation.conftest import decade_settings
from tests.factories import make_dataset, make_institution, make_user

pytestmark = pytest.mark.django_db(transaction=True)

NOTE_SCHEMA: dict[str, Any] = {
    "key": "personal_code",
    "fields": [
        {
            "name": "personal_code",
            "title_lv": "Personas kods",
            "title_en": "Personal code",
            "type": "string",
            "required": True,
            "personal": True,
            "identifier": "personal_code",
        },
        {"name": "note", "title_lv": "Piezīme", "title_en": "Note", "type": "string"},
        {
            "name": "roles",
            "title_lv": "Lomas",
            "title_en": "Roles",
            "type": "list",
            "fields": [{"name": "role", "title_lv": "Loma", "title_en": "Role", "type": "string"}],
        },
    ],
}


def publish(world: Any) -> Release:
    services.settings_update(
        actor=world.user, dataset=world.dataset, **decade_settings(world.dataset)
    )
    release = services.release_request(actor=world.user, datasets=[world.dataset])
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    return release


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_public_pages_show_published_test_data_to_anyone(world, client):
    assert "iedzivotaji" not in client.get("/test-data/").content.decode()
    assert client.get("/test-data/iedzivotaji/").status_code == 404  # nothing published yet
    assert client.get("/test-data/iedzivotaji.csv").status_code == 404
    publish(world)
    page = client.get("/test-data/").content.decode()
    assert "Reģistru iestāde" in page and "iedzivotaji-test" in page
    detail = client.get("/test-data/iedzivotaji/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "Privātuma pārskats" in text and "birth_date" in text and "Dzimšanas datums" in text
    english = client.get("/test-data/iedzivotaji/", headers={"accept-language": "en"})
    assert "Privacy report" in english.content.decode()


def text_of(page: Any) -> str:
    """A page (a response or its HTML) as the text a person reads."""
    markup = page if isinstance(page, str) else page.content.decode()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def test_the_privacy_report_is_readable_in_both_languages(world, client):
    release = publish(world)
    report = release.report
    assert report["k"] == 30 and report["quasi_identifiers"] == [
        {"dataset": "iedzivotaji", "path": "birth_date", "level": "decade"}
    ]
    lv = text_of(client.get("/test-data/iedzivotaji/"))
    assert "k (mazākā savstarpēji līdzīgu personu grupa) 30" in lv
    assert "iedzivotaji.birth_date — desmitgade" in lv
    assert "Noplūdes pārbaude" in lv and "Rezultātā nav nevienas sākotnējās" in lv
    assert "Ko noteikumi izdarīja datu kopā iedzivotaji (30 ieraksti)" in lv
    assert "personal_code pseudonymise pseidonimizēts 30" in lv
    assert '"leak_proof"' not in lv  # no raw JSON of what the page shows
    en = text_of(client.get("/test-data/iedzivotaji/", headers={"accept-language": "en"}))
    assert "k (smallest group of look-alike persons) 30" in en
    assert "iedzivotaji.birth_date — decade" in en
    assert "Leak proof" in en and "No original identifier value" in en
    assert "What the rules did in iedzivotaji (30 records)" in en
    assert "last_name fake faked 30" in en
    cells = report["leak_proof"]["cells_checked"]
    assert f"Output cells checked {cells}" in en


def test_csv_download_is_the_test_dataset_and_formula_safe(world, client):
    dataset = make_dataset(
        provider=world.provider, code="piezimes", schema=NOTE_SCHEMA, status="production"
    )
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[
            {
                "personal_code": code,
                "note": '=HYPERLINK("http://x.lv","a")',
                "roles": [{"role": "@SUM(1)"}, {"role": "valde"}],
            }
            for code in ("32000000019", "32000000027", "32000000035", "32000000043")
        ],
    )
    TestDataSettings.objects.create(dataset=dataset, k=2)
    release = services.release_request(actor=world.user, datasets=[dataset], k=2)
    release.refresh_from_db()
    assert release.status == Release.Status.PUBLISHED, release.error
    response = client.get("/test-data/piezimes.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = body.splitlines()[:2]
    assert header == "personal_code,note,roles"
    assert "32000000019" not in body
    for cell in row.split(","):
        assert not cell.lstrip('"').startswith(("=", "+", "-", "@")), cell
    xlsx = client.get("/test-data/piezimes.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("personal_code", "note", "roles")
    assert all(not str(v).startswith(("=", "+", "-", "@")) for v in rows[1] if v is not None)


def test_an_unknown_or_unpublished_dataset_is_404(world, client):
    assert client.get("/test-data/nav-tadas/").status_code == 404
    services.release_request(actor=world.user, datasets=[world.dataset], k=1000)  # refused
    assert client.get("/test-data/iedzivotaji/").status_code == 404
    assert client.get("/test-data/iedzivotaji.xlsx").status_code == 404


def test_provider_pages_are_the_providers_and_the_administrators(world, client):
    url = "/test-data/manage/iedzivotaji/"
    release = publish(world)
    release_url = f"/test-data/releases/{release.pk}/"
    for path in (url, release_url, release_url + "progress/"):
        response = client.get(path)  # anonymous: to the login page
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    other = make_user(institution=make_institution(kind="provider"), roles=("provider",))
    recipient = make_user(institution=make_institution(kind="recipient"), roles=("recipient",))
    for outsider in (other, recipient):
        c = login(outsider)
        # a production dataset is visible to all, so not theirs: 403; the release: 404
        assert c.get(url).status_code == 403
        assert c.get(release_url).status_code == 404
        assert c.get(release_url + "progress/").status_code == 404
        assert c.post(url + "build/").status_code == 403
    owner = login(world.user)
    page = owner.get(url)
    assert page.status_code == 200 and "personal_code" in page.content.decode()
    assert owner.get(release_url).status_code == 200
    assert owner.get(release_url + "progress/").json()["status"] == "published"
    admin = login(make_user(is_portal_admin=True))
    assert admin.get(url).status_code == 200 and admin.get(release_url).status_code == 200


def test_a_sandbox_dataset_of_another_provider_is_404(world):
    hidden = make_dataset(provider=make_institution(kind="provider"), code="slepena")
    assert login(world.user).get(f"/test-data/manage/{hidden.code}/").status_code == 404


def test_settings_form_shows_errors_next_to_the_field_and_saves(world):
    owner = login(world.user)
    bad = owner.post(
        "/test-data/manage/iedzivotaji/",
        {
            "rule__personal_code": "keep",
            "rule__last_name": "fake",
            "rule__birth_date": "date_shift",
            "k": "5",
        },
    )
    assert bad.status_code == 422
    assert 'id="err-personal_code"' in bad.content.decode()
    assert not TestDataSettings.objects.filter(dataset=world.dataset).exists()
    good = owner.post(
        "/test-data/manage/iedzivotaji/",
        {
            "rule__personal_code": "pseudonymise",
            "rule__last_name": "mask",
            "rule__birth_date": "date_shift",
            "qi__birth_date": "decade",
            "k": "6",
        },
    )
    assert good.status_code == 302
    stored = TestDataSettings.objects.get(dataset=world.dataset)
    assert stored.k == 6 and stored.rules["last_name"]["kind"] == "mask"
    assert stored.quasi_identifiers == [
        {"dataset": "iedzivotaji", "path": "birth_date", "level": "decade"}
    ]


def test_the_build_button_queues_a_release_and_shows_its_page(world):
    owner = login(world.user)
    response = owner.post("/test-data/manage/iedzivotaji/build/")
    release = Release.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/test-data/releases/{release.pk}/"
    )
    page = owner.get(response["Location"]).content.decode()
    assert f"Laidiens Nr. {release.number}" in page


def test_a_refused_release_page_says_why(world):
    release = services.release_request(actor=world.user, datasets=[world.dataset], k=1000)
    owner = login(world.user)
    page = owner.get(f"/test-data/releases/{release.pk}/").content.decode()
    assert "Nav publicēts" in page and "Ko pastiprināt" in page
    assert "/test-data/manage/iedzivotaji/" in page
    release.refresh_from_db()
    advice = release.report["advice"]
    assert advice and all(item["lv"] and item["en"] for item in advice)
    assert advice[0]["lv"] in text_of(page)
    english = owner.get(f"/test-data/releases/{release.pk}/", headers={"accept-language": "en"})
    assert advice[0]["en"] in text_of(english) and advice[0]["lv"] not in text_of(english)
