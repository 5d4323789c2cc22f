"""Upload pages: the flow over HTTP, the size limit while receiving, hostile files as form
errors (never a 500), download, delete, export (formula-safe), permissions, both languages."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from dagr.accounts.models import Institution, Membership
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_set_status
from dagr.core.actors import SYSTEM
from dagr.records.models import Load, Record
from dagr.records.services import records_delete, records_upsert
from dagr.uploads import services
from dagr.uploads.models import UploadedFile
from tests.factories import make_institution, make_user

from .conftest import GOOD, person_csv

pytestmark = pytest.mark.django_db


def post_file(client, dataset, data, name="persons.csv", **fields):
    return client.post(
        f"/uploads/datasets/{dataset.code}/",
        {"file": SimpleUploadedFile(name, data), "mode": "upsert", "encoding": "auto",
         "delimiter": "auto", **fields},
    )  # fmt: skip


def test_upload_preview_confirm_over_http(client, world, django_capture_on_commit_callbacks):
    _p, user, dataset = world
    client.force_login(user)
    response = post_file(client, dataset, person_csv([(GOOD[0], "Ozola", "1980-01-02")]))
    upload = UploadedFile.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/uploads/files/{upload.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Nekas vēl nav saglabāts." in page and "Ozola" in page and "1980-01-02" in page
    assert "None" not in page
    assert not Record.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/uploads/files/{upload.pk}/confirm/")
    summary = client.get(f"/uploads/files/{upload.pk}/").content.decode()
    assert "Fails ir ielādēts." in summary
    assert client.get(f"/uploads/files/{upload.pk}/progress/").json() == {
        "status": "loaded", "done": 1, "total": 1,
    }  # fmt: skip
    assert Record.objects.filter(dataset=dataset).count() == 1


def test_an_invalid_file_shows_its_errors_and_a_disabled_confirm(client, world):
    _p, user, dataset = world
    client.force_login(user)
    post_file(client, dataset, person_csv([(GOOD[0], "Ozola", ""), ("123", "Liepa", "")]))
    page = client.get(f"/uploads/files/{UploadedFile.objects.get().pk}/").content.decode()
    assert "Kļūdas" in page and "<code>personal_code</code>" in page
    assert "disabled" in page


def test_the_size_limit_is_enforced_while_receiving(client, world, settings):
    _p, user, dataset = world
    settings.DAGR_UPLOAD_MAX_BYTES = 2000
    client.force_login(user)
    response = post_file(client, dataset, b"x" * 5000)
    assert response.status_code == 413
    assert "lielāks par ierobežojumu" in response.content.decode()
    assert not UploadedFile.objects.exists()
    assert not (settings.MEDIA_ROOT / "uploads").exists() or not any(
        (settings.MEDIA_ROOT / "uploads").rglob("*.*")
    )


def test_the_upload_form_keeps_its_csrf_protection(world):
    _p, user, dataset = world
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = post_file(client, dataset, person_csv([(GOOD[0], "B", "")]))
    assert response.status_code == 403
    assert not UploadedFile.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.xlsx", b"PK\x03\x04garbage", "XLSX"),
        ("x.csv", b"personal_code,last_name\n", "Failā nav ierakstu."),
        ("x.json", b"[1, 2", "JSON"),
    ],
)
def test_hostile_files_are_form_errors_not_500(client, world, name, data, message):
    _p, user, dataset = world
    client.force_login(user)
    response = post_file(client, dataset, data, name=name)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not UploadedFile.objects.exists()


def test_download_the_original_and_delete_it_keeping_records(client, world, receive, confirm):
    _p, user, dataset = world
    data = person_csv([(GOOD[0], "B", "")], delimiter=";")
    upload = confirm(user, receive(user, dataset, data, name="Iedzīvotāji 2026.csv"))
    client.force_login(user)
    history = client.get(f"/uploads/datasets/{dataset.code}/").content.decode()
    assert "Iedzīvotāji 2026.csv" in history and f"/uploads/files/{upload.pk}/download/" in history
    download = client.get(f"/uploads/files/{upload.pk}/download/")
    assert b"".join(download.streaming_content) == data
    assert "attachment" in download["Content-Disposition"]
    page = client.get(f"/uploads/files/{upload.pk}/delete/").content.decode()
    assert "paliek datu kopā" in page  # "the records it loaded stay in the dataset"
    client.post(f"/uploads/files/{upload.pk}/delete/")
    upload.refresh_from_db()
    assert upload.file_deleted_at is not None
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 1
    gone = client.get(f"/uploads/files/{upload.pk}/download/")
    assert gone.status_code == 302


def test_export_csv_and_xlsx_hold_the_current_records_formula_safe(client, world):
    _p, user, dataset = world
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[
            {"personal_code": GOOD[0], "last_name": "=cmd()", "birth_date": "1980-01-02"},
            {"personal_code": GOOD[1], "last_name": "Gone"},
        ],
    )
    records_delete(actor=SYSTEM, dataset=dataset, keys=[GOOD[1]])
    client.force_login(user)
    response = client.get(f"/uploads/datasets/{dataset.code}/export.csv")
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{"personal_code": GOOD[0], "last_name": "'=cmd()", "birth_date": "1980-01-02"}]
    xlsx = client.get(f"/uploads/datasets/{dataset.code}/export.xlsx")
    values = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert values[0] == ("personal_code", "last_name", "birth_date")
    assert values[1] == (GOOD[0], "'=cmd()", "1980-01-02") and len(values) == 2


def test_an_xlsx_too_large_is_a_clear_error(client, world, settings):
    _p, user, dataset = world
    records_upsert(actor=SYSTEM, dataset=dataset,
                   records=[{"personal_code": GOOD[0], "last_name": "B"}])  # fmt: skip
    settings.DAGR_EXPORT_XLSX_MAX_RECORDS = 0
    client.force_login(user)
    response = client.get(f"/uploads/datasets/{dataset.code}/export.xlsx")
    assert response.status_code == 422 and "CSV" in response.content.decode()


def test_permission_matrix(client, world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    get_urls = [f"/uploads/datasets/{dataset.code}/", f"/uploads/files/{upload.pk}/",
                f"/uploads/files/{upload.pk}/download/", f"/uploads/files/{upload.pk}/delete/",
                f"/uploads/files/{upload.pk}/progress/",
                f"/uploads/datasets/{dataset.code}/export.csv",
                f"/uploads/datasets/{dataset.code}/export.xlsx"]  # fmt: skip
    post_urls = [f"/uploads/files/{upload.pk}/confirm/", f"/uploads/files/{upload.pk}/cancel/",
                 f"/uploads/files/{upload.pk}/delete/"]  # fmt: skip
    for url in get_urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    for url in post_urls:
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    dataset_set_status(actor=SYSTEM, dataset=dataset, status=Dataset.Status.PRODUCTION)
    other_provider = make_user(institution=make_institution(kind=Institution.Kind.PROVIDER),
                               roles=(Membership.Role.PROVIDER,))  # fmt: skip
    recipient = make_user(institution=make_institution(kind=Institution.Kind.RECIPIENT),
                          roles=(Membership.Role.RECIPIENT,))  # fmt: skip
    for outsider in (other_provider, recipient):
        client.force_login(outsider)
        for url in get_urls:
            assert client.get(url).status_code == 404, url
        for url in post_urls:
            assert client.post(url).status_code == 404, url
        assert post_file(client, dataset, person_csv([(GOOD[1], "C", "")])).status_code == 404
    upload.refresh_from_db()
    assert upload.status == UploadedFile.Status.PREVIEWED and not upload.file_deleted_at
    assert UploadedFile.objects.count() == 1
    assert not Load.objects.filter(dataset=dataset).exists()
    assert services.stored_path(upload).exists()


def test_pages_in_latvian_and_english(client, world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    client.force_login(user)
    lv = client.get(f"/uploads/files/{upload.pk}/", HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Apstiprināt un ielādēt" in lv and "Tiks izveidoti" in lv
    en = client.get(f"/uploads/files/{upload.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Confirm and load" in en and "Will be created" in en
    upload_page = client.get(
        f"/uploads/datasets/{dataset.code}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Data file" in upload_page and "Download the current data" in upload_page


def test_deleting_a_never_loaded_file_does_not_speak_of_its_records(client, world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")], delimiter=";"))
    assert upload.status != "loaded"
    client.force_login(user)
    page = client.get(f"/uploads/files/{upload.pk}/delete/").content.decode()
    assert "paliek datu kopā" not in page
    assert "nekad netika ielādēts" in page
    response = client.post(f"/uploads/files/{upload.pk}/delete/", follow=True)
    html = response.content.decode()
    assert "paliek datu kopā" not in html and "nekad netika ielādēts" in html
    assert Record.objects.filter(dataset=dataset).count() == 0
