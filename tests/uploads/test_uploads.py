"""File upload (DU-10): preview, confirm, background load, history, download, delete, export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import load_workbook

from dagr.accounts.models import Institution, Membership
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_set_status
from dagr.core.actors import SYSTEM
from dagr.core.errors import ValidationError
from dagr.records.models import Load, Record
from dagr.records.services import records_upsert
from dagr.uploads import services
from dagr.uploads.models import UploadedFile
from dagr.uploads.parsing import FileError
from tests.factories import make_dataset, make_institution, make_user

pytestmark = pytest.mark.django_db

GOOD = "32000000019", "32000000027", "32000000035"


def person_csv(rows: list[tuple[str, str, str]], delimiter: str = ",") -> bytes:
    lines = [delimiter.join(("personal_code", "last_name", "birth_date"))]
    lines += [delimiter.join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    provider = make_institution(kind=Institution.Kind.PROVIDER)
    user = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(provider=provider, code="iedzivotaji")
    return provider, user, dataset


@pytest.fixture
def confirm(django_capture_on_commit_callbacks, monkeypatch):
    """Confirm like the page does, then let the real database worker run the queued load.
    (The worker closes old connections between tasks; in a test that would be the test's own
    transaction, so only that call is switched off.)"""
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )

    def run(user, upload):
        with django_capture_on_commit_callbacks(execute=True):
            services.upload_confirm(actor=user, upload=upload)
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
        upload.refresh_from_db()
        return upload

    return run


def receive(user, dataset, data: bytes, mode="upsert", name="persons.csv", **kw):
    return services.upload_receive(
        actor=user, dataset=dataset, file=SimpleUploadedFile(name, data), mode=mode, **kw
    )


def test_preview_predicts_the_load_and_nothing_is_stored_before_confirm(world, confirm):
    _p, user, dataset = world
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[
            {"personal_code": GOOD[0], "last_name": "Bērziņš", "birth_date": "1980-01-02"},
            {"personal_code": GOOD[1], "last_name": "Ozola", "birth_date": "1981-01-02"},
        ],
    )
    upload = receive(
        user,
        dataset,
        person_csv(
            [
                (GOOD[0], "Bērziņš", "1980-01-02"),
                (GOOD[1], "Kalniņa", "1981-01-02"),
                (GOOD[2], "B", ""),
            ]
        ),
    )
    p = upload.preview
    assert (p["received"], p["created"], p["changed"], p["unchanged"]) == (3, 1, 1, 1)
    assert upload.status == UploadedFile.Status.PREVIEWED
    assert Record.objects.filter(dataset=dataset).count() == 2  # nothing stored yet
    confirm(user, upload)
    assert upload.status == UploadedFile.Status.LOADED
    load = upload.load
    assert (load.created, load.updated, load.unchanged) == (
        p["created"],
        p["changed"],
        p["unchanged"],
    )
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 3


def test_snapshot_preview_counts_deletions(world, confirm):
    _p, user, dataset = world
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[{"personal_code": c, "last_name": "B"} for c in GOOD],
    )
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]), mode="snapshot")
    assert upload.preview["deleted"] == 2 and upload.preview["unchanged"] == 1
    confirm(user, upload)
    assert upload.load.deleted == 2
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 1


def test_errors_are_listed_per_row_and_such_a_file_cannot_be_loaded(world):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", ""), ("12345", "D", "")]))
    assert upload.status == UploadedFile.Status.INVALID
    assert upload.preview["invalid"] == 1
    assert upload.preview["errors"][0]["row"] == 2
    assert upload.preview["errors"][0]["field"] == "personal_code"
    with pytest.raises(Exception) as refused:
        services.upload_confirm(actor=user, upload=upload)
    assert getattr(refused.value, "code", "") == "upload_not_loadable"
    assert not Record.objects.filter(dataset=dataset).exists()


def test_a_failed_load_stores_nothing_and_marks_the_file(world):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    other = make_user()  # the load runs as a user who may not load: refused, nothing stored
    UploadedFile.objects.filter(pk=upload.pk).update(status=UploadedFile.Status.QUEUED)
    result = services.upload_load(upload_id=upload.pk, actor=other)
    assert result.status == UploadedFile.Status.FAILED and result.error
    assert not Record.objects.filter(dataset=dataset).exists()


def test_hostile_and_oversized_files_get_clear_errors(world, settings):
    _p, user, dataset = world
    with pytest.raises(FileError) as broken:
        receive(user, dataset, b"PK\x03\x04garbage", name="x.xlsx")
    assert broken.value.code == "file_bad_xlsx"
    settings.DAGR_UPLOAD_MAX_BYTES = 10
    with pytest.raises(ValidationError) as big:
        receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    assert big.value.code == "file_too_large"
    assert not UploadedFile.objects.exists()


def test_history_download_and_delete_keep_records(client, world, confirm):
    _p, user, dataset = world
    data = person_csv([(GOOD[0], "B", "")], delimiter=";")
    upload = receive(user, dataset, data)
    assert confirm(user, upload).status == UploadedFile.Status.LOADED
    client.force_login(user)
    page = client.get(f"/uploads/datasets/{dataset.code}/")
    assert page.status_code == 200 and "persons.csv" in page.content.decode()
    download = client.get(f"/uploads/files/{upload.pk}/download/")
    assert b"".join(download.streaming_content) == data
    confirm_page = client.get(f"/uploads/files/{upload.pk}/delete/")
    assert "stay in the dataset" in confirm_page.content.decode() or confirm_page.status_code == 200
    client.post(f"/uploads/files/{upload.pk}/delete/")
    upload.refresh_from_db()
    assert upload.file_deleted_at is not None
    assert not services.stored_path(upload).exists()
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 1


def test_export_csv_and_xlsx_are_formula_safe(client, world):
    _p, user, dataset = world
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[{"personal_code": GOOD[0], "last_name": "=cmd()"}],
    )
    client.force_login(user)
    response = client.get(f"/uploads/datasets/{dataset.code}/export.csv")
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["last_name"] == "'=cmd()"
    xlsx = client.get(f"/uploads/datasets/{dataset.code}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert "'=cmd()" in values[1]


def test_permission_matrix(client, world):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    urls = [f"/uploads/datasets/{dataset.code}/", f"/uploads/files/{upload.pk}/",
            f"/uploads/datasets/{dataset.code}/export.csv"]  # fmt: skip
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    dataset_set_status(actor=SYSTEM, dataset=dataset, status=Dataset.Status.PRODUCTION)
    other = make_institution(kind=Institution.Kind.PROVIDER)
    client.force_login(make_user(institution=other, roles=(Membership.Role.PROVIDER,)))
    assert client.get(urls[0]).status_code == 403  # a public dataset of another provider
    assert client.get(urls[1]).status_code == 404
    assert client.post(f"/uploads/files/{upload.pk}/confirm/").status_code == 404
    upload.refresh_from_db()
    assert upload.status == UploadedFile.Status.PREVIEWED
    assert not Load.objects.filter(dataset=dataset).exists()
