"""Upload services: nothing stored before confirmation, the background check and load, failed
loads, cancel and delete (which never delete records), hostile files."""

from __future__ import annotations

import io
import zipfile

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.audit.models import AdminEntry
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_schema_update
from dagr.core.actors import SYSTEM
from dagr.core.errors import Conflict, PermissionDenied, ValidationError
from dagr.records.loads import dataset_load_check
from dagr.records.models import Load, Record
from dagr.records.services import records_upsert
from dagr.uploads import services
from dagr.uploads.models import UploadedFile
from dagr.uploads.parsing import FileError
from tests.factories import PERSON_SCHEMA, make_institution, make_user

from .conftest import GOOD, person_csv

pytestmark = pytest.mark.django_db


def test_nothing_is_stored_before_confirm_then_the_worker_loads_the_file(world, receive, confirm):
    _p, user, dataset = world
    records_upsert(
        actor=SYSTEM,
        dataset=dataset,
        records=[
            {"personal_code": GOOD[0], "last_name": "Bērziņš", "birth_date": "1980-01-02"},
            {"personal_code": GOOD[1], "last_name": "Ozola", "birth_date": "1981-01-02"},
        ],
    )
    rows = [(GOOD[0], "Bērziņš", "1980-01-02"), (GOOD[1], "Kalniņa", "1981-01-02"),
            (GOOD[2], "B", "")]  # fmt: skip
    upload = receive(user, dataset, person_csv(rows))
    p = upload.preview
    assert (p["received"], p["created"], p["changed"], p["unchanged"]) == (3, 1, 1, 1)
    assert upload.status == UploadedFile.Status.PREVIEWED
    assert (upload.size, len(upload.sha256), upload.file_format) == (
        len(person_csv(rows)),
        64,
        "csv",
    )
    assert services.stored_path(upload).read_bytes() == person_csv(rows)
    assert Record.objects.filter(dataset=dataset).count() == 2  # nothing stored yet
    assert Load.objects.filter(dataset=dataset).count() == 1  # only the seed

    confirm(user, upload)
    assert upload.status == UploadedFile.Status.LOADED
    load = upload.load
    assert (load.source, load.mode, load.details["upload_id"]) == ("upload", "upsert", upload.pk)
    assert (load.created, load.updated, load.unchanged) == (1, 1, 1)
    assert upload.rows_done == upload.rows_total == 3
    assert Record.objects.get(dataset=dataset, key=GOOD[1]).data["last_name"] == "Kalniņa"
    actions = set(AdminEntry.objects.values_list("action", flat=True))
    assert {"uploads.file.uploaded", "uploads.file.confirmed", "records.load.succeeded"} <= actions
    with pytest.raises(Conflict):  # loaded once only
        services.upload_confirm(actor=user, upload=upload)


def test_a_file_with_errors_lists_them_and_cannot_be_confirmed(world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", ""), ("12345", "D", "x")]))
    assert upload.status == UploadedFile.Status.INVALID
    assert upload.preview["invalid"] == 1
    fields = {(e["row"], e["field"]) for e in upload.preview["errors"]}
    assert fields == {(2, "personal_code"), (2, "birth_date")}
    with pytest.raises(Conflict) as refused:
        services.upload_confirm(actor=user, upload=upload)
    assert refused.value.code == "upload_not_loadable"
    assert not Record.objects.filter(dataset=dataset).exists()


def test_stored_errors_are_capped_and_counted(world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([("1", "B", "")] * 500))
    assert upload.preview["invalid"] == 500
    assert len(upload.preview["errors"]) == 200 and upload.preview["more_errors"]


def test_a_failed_load_stores_nothing_and_marks_the_file_failed(world, receive, confirm):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", ""), (GOOD[1], "C", "")]))
    # the stored file changes on disk between the check and the load: its second row is bad now
    services.stored_path(upload).write_bytes(person_csv([(GOOD[0], "B", ""), ("1", "C", "")]))
    confirm(user, upload)
    assert upload.status == UploadedFile.Status.FAILED
    assert upload.error and upload.load is None
    assert upload.preview["load_errors"][0]["row"] == 2
    assert not Record.objects.filter(dataset=dataset).exists()
    assert Load.objects.get(dataset=dataset).status == Load.Status.FAILED


def test_a_load_runs_once_even_if_the_task_is_delivered_twice(world, receive, confirm):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    confirm(user, upload)
    again = services.upload_load(upload_id=upload.pk, actor=user)
    assert again.status == UploadedFile.Status.LOADED
    assert Load.objects.filter(dataset=dataset).count() == 1


def test_a_large_file_is_checked_by_the_worker(world, receive, settings):
    _p, user, dataset = world
    settings.DAGR_UPLOAD_INLINE_CHECK_BYTES = 10
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    assert upload.status == UploadedFile.Status.PREVIEWED  # the task ran on commit
    assert upload.preview["created"] == 1 and upload.rows_total == 1
    broken = receive(user, dataset, b"PK\x03\x04garbage", name="big.xlsx")
    assert broken.status == UploadedFile.Status.INVALID
    assert "XLSX" in broken.error  # the reason is on the file's page, not a hang or a 500
    with pytest.raises(Conflict):
        services.upload_confirm(actor=user, upload=broken)


def test_a_file_waiting_for_its_check_is_not_loaded_twice_nor_deleted(
    world, settings, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _p, user, dataset = world
    settings.DAGR_UPLOAD_INLINE_CHECK_BYTES = 10
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        upload = services.upload_receive(
            actor=user, dataset=dataset, mode="upsert",
            file=SimpleUploadedFile("p.csv", person_csv([(GOOD[0], "B", "")])),
        )  # fmt: skip
    assert upload.status == UploadedFile.Status.UPLOADED
    assert services.upload_progress(upload) == {"done": 0, "total": 0}
    with pytest.raises(Conflict):
        services.upload_confirm(actor=user, upload=upload)
    with pytest.raises(Conflict):
        services.upload_delete_file(actor=user, upload=upload)
    assert services.upload_check(upload_id=upload.pk).status == UploadedFile.Status.PREVIEWED


def test_confirm_is_refused_when_the_schema_changed_since_the_check(world, receive):
    _p, user, dataset = world
    upload = receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    schema = {**PERSON_SCHEMA, "fields": [*PERSON_SCHEMA["fields"]]}
    schema["fields"].append({"name": "note", "title_lv": "Piezīme", "title_en": "Note",
                             "type": "string"})  # fmt: skip
    dataset_schema_update(actor=SYSTEM, dataset=dataset, schema=schema)
    dataset.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        services.upload_confirm(actor=user, upload=upload)
    assert refused.value.code == "upload_schema_changed"


def test_cancel_and_delete_never_delete_records(world, receive, confirm,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    _p, user, dataset = world
    loaded = confirm(user, receive(user, dataset, person_csv([(GOOD[0], "B", "")])))
    with django_capture_on_commit_callbacks(execute=True):
        services.upload_delete_file(actor=user, upload=loaded)
    loaded.refresh_from_db()
    assert loaded.file_deleted_at and loaded.status == UploadedFile.Status.LOADED
    assert not services.stored_path(loaded).exists()
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 1
    with pytest.raises(Conflict):
        services.upload_delete_file(actor=user, upload=loaded)

    pending = receive(user, dataset, person_csv([(GOOD[1], "C", "")]))
    with django_capture_on_commit_callbacks(execute=True):
        services.upload_delete_file(actor=user, upload=pending)
    pending.refresh_from_db()
    assert pending.status == UploadedFile.Status.CANCELLED  # deleting an unloaded file cancels it
    with pytest.raises(Conflict):
        services.upload_confirm(actor=user, upload=pending)

    other = receive(user, dataset, person_csv([(GOOD[2], "D", "")]))
    services.upload_cancel(actor=user, upload=other)
    other.refresh_from_db()
    assert other.status == UploadedFile.Status.CANCELLED
    assert AdminEntry.objects.filter(action="uploads.file.cancelled").count() == 1
    assert Record.objects.filter(dataset=dataset, deleted_at=None).count() == 1


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<" + b" " * 5_000_000 + b">")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "kw", "code"),
    [
        ("x.xlsx", b"PK\x03\x04garbage", {}, "file_bad_xlsx"),
        ("x.xlsx", _zip_bomb(), {}, "file_zip_bomb"),
        ("x.csv", "personal_code;last_name\n32000000019;Ūdris\n".encode("cp1257"),
         {"encoding": "utf-8"}, "file_bad_encoding"),
        ("x.csv", b"", {}, "file_empty"),
        ("x.csv", b"personal_code,last_name\n", {}, "file_no_records"),
        ("x.json", b'{"not": "a list"}', {}, "file_bad_json"),
        ("x.csv", b"a,b\n1,2,3\n", {}, "file_ragged_row"),
    ],
)  # fmt: skip
def test_hostile_files_are_refused_with_a_clear_error_and_not_kept(world, receive, name, data,
                                                                   kw, code):  # fmt: skip
    _p, user, dataset = world
    with pytest.raises(ValidationError) as refused:
        receive(user, dataset, data, name=name, **kw)
    assert refused.value.code == code and str(refused.value.message)
    assert not UploadedFile.objects.exists()
    assert not list((services._folder(dataset)).iterdir())


def test_windows_1257_is_detected_and_stored_as_utf8_text(world, receive, confirm):
    _p, user, dataset = world
    data = f"personal_code;last_name\n{GOOD[0]};Ūdris-Šķēle\n".encode("cp1257")
    upload = confirm(user, receive(user, dataset, data))
    assert upload.status == UploadedFile.Status.LOADED
    assert Record.objects.get(dataset=dataset).data["last_name"] == "Ūdris-Šķēle"


def test_an_oversized_file_is_refused_while_copied(world, receive, settings):
    _p, user, dataset = world
    settings.DAGR_UPLOAD_MAX_BYTES = 10
    with pytest.raises(ValidationError) as big:
        receive(user, dataset, person_csv([(GOOD[0], "B", "")]))
    assert big.value.code == "file_too_large"
    assert not UploadedFile.objects.exists()
    assert not list((services._folder(dataset)).iterdir())


def test_a_file_level_error_is_a_file_error(world, receive):
    _p, user, dataset = world
    with pytest.raises(FileError):
        receive(user, dataset, b"PK\x03\x04garbage", name="x.xlsx")


def test_an_upload_asks_the_records_guard_who_may_load_and_into_what(world, receive):
    """One "may load this dataset" guard (``records.loads.dataset_load_check``) for the API and
    the portal: a retired dataset and an outsider are refused as a load would be."""
    _p, user, dataset = world
    data = person_csv([(GOOD[0], "Bērziņš", "1980-01-02")])
    outsider = make_user(
        institution=make_institution(kind=Institution.Kind.PROVIDER),
        roles=(Membership.Role.PROVIDER,),
    )
    with pytest.raises(PermissionDenied) as denied:
        receive(outsider, dataset, data)
    with pytest.raises(PermissionDenied) as by_guard:
        dataset_load_check(actor=outsider, dataset=dataset)
    assert str(denied.value.message) == str(by_guard.value.message)
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.RETIRED)
    dataset.refresh_from_db()
    with pytest.raises(Conflict) as retired:
        receive(user, dataset, data)
    with pytest.raises(Conflict) as by_guard_retired:
        dataset_load_check(actor=user, dataset=dataset)
    assert retired.value.code == by_guard_retired.value.code == "dataset_retired"
    assert str(retired.value.message) == str(by_guard_retired.value.message)
    assert not UploadedFile.objects.filter(dataset=dataset).exists()
