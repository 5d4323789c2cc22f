"""A snapshot upload that deletes more than the allowed share of the live records: the preview
names the number, the confirmation must repeat it exactly, and the load passes it on to the
loading service's one snapshot-safety rule."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dagr.core.actors import SYSTEM
from dagr.records.models import Change, Load, Record
from dagr.records.services import records_upsert
from dagr.uploads.models import UploadedFile

from .conftest import GOOD, person_csv

pytestmark = pytest.mark.django_db


def seed(dataset: Any, codes: tuple[str, ...] = GOOD) -> None:
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[{"personal_code": code, "last_name": "Ozola"} for code in codes],
    )


def upload_snapshot(client: Any, dataset: Any, codes: tuple[str, ...]) -> UploadedFile:
    data = person_csv([(code, "Ozola", "") for code in codes])
    response = client.post(
        f"/uploads/datasets/{dataset.code}/",
        {"file": SimpleUploadedFile("persons.csv", data), "mode": "snapshot",
         "encoding": "auto", "delimiter": "auto"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    return UploadedFile.objects.latest("pk")


def records_state(dataset: Any) -> tuple[Any, ...]:
    return (
        sorted(Record.objects.filter(dataset=dataset).values_list("key", "version", "deleted_at")),
        Change.objects.filter(dataset=dataset).count(),
    )


def test_the_preview_names_the_deletions_and_the_load_needs_their_number(
    client, world, django_capture_on_commit_callbacks
):
    _p, user, dataset = world
    seed(dataset)
    client.force_login(user)
    upload = upload_snapshot(client, dataset, GOOD[:1])
    assert (upload.preview["deleted"], upload.preview["live"]) == (3, 4)
    page = client.get(f"/uploads/files/{upload.pk}/").content.decode()
    assert "3 no 4 nedzēstajiem ierakstiem" in page
    assert "Apstiprinu: tiks dzēsti 3 ieraksti." in page
    assert 'name="confirm_deletions" value="3" required' in page
    before = records_state(dataset)

    url = f"/uploads/files/{upload.pk}/confirm/"
    for sent in ({}, {"confirm_deletions": "2"}, {"confirm_deletions": "drei"}):
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(url, sent, follow=True)
        assert answer.status_code == 200
        text = answer.content.decode()
        assert "dzēstu 3 no 4 nedzēstajiem ierakstiem" in text  # a message, not an error page
        upload.refresh_from_db()
        assert upload.status == UploadedFile.Status.PREVIEWED
        assert records_state(dataset) == before

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"confirm_deletions": "3"})
    upload.refresh_from_db()
    assert upload.status == UploadedFile.Status.LOADED, upload.error
    assert (upload.load.deleted, upload.load.unchanged) == (3, 1)
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 1


def test_a_snapshot_within_the_share_needs_no_number(
    client, world, django_capture_on_commit_callbacks
):
    _p, user, dataset = world
    seed(dataset)
    client.force_login(user)
    upload = upload_snapshot(client, dataset, GOOD[:2])
    page = client.get(f"/uploads/files/{upload.pk}/").content.decode()
    assert "2 no 4 nedzēstajiem ierakstiem" in page and "confirm_deletions" not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/uploads/files/{upload.pk}/confirm/")
    upload.refresh_from_db()
    assert upload.status == UploadedFile.Status.LOADED and upload.load.deleted == 2


def test_the_share_setting_decides_in_the_portal_too(client, world, settings):
    _p, user, dataset = world
    seed(dataset)
    settings.DAGR_SNAPSHOT_MAX_DELETE_SHARE = 0.25
    client.force_login(user)
    upload = upload_snapshot(client, dataset, GOOD[:2])
    page = client.get(f"/uploads/files/{upload.pk}/").content.decode()
    assert 'name="confirm_deletions" value="2" required' in page


def test_data_changed_after_the_preview_fails_the_load_naming_the_real_number(
    client, world, django_capture_on_commit_callbacks
):
    _p, user, dataset = world
    seed(dataset, GOOD[:3])
    client.force_login(user)
    upload = upload_snapshot(client, dataset, GOOD[:1])
    assert upload.preview["deleted"] == 2
    seed(dataset, GOOD[3:])  # one more live record since the preview
    before = records_state(dataset)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/uploads/files/{upload.pk}/confirm/", {"confirm_deletions": "2"})
    upload.refresh_from_db()
    assert upload.status == UploadedFile.Status.FAILED
    assert "dzēstu 3 no 4" in upload.error
    assert records_state(dataset) == before
    failed = Load.objects.filter(dataset=dataset).latest("pk")
    assert failed.status == Load.Status.FAILED
    assert failed.errors[0]["code"] == "snapshot_deletions_unconfirmed"
