"""File uploads: receive and check a file, preview it, load it in the background, keep it.

Files are stored under ``MEDIA_ROOT/uploads/<dataset id>/`` with random names; the original name
is only displayed. A load's progress is a small JSON file next to the stored file (the load
itself runs in one database transaction, which nobody else can see into until it commits).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile as DjangoUploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset
from dagr.core.errors import Conflict, PermissionDenied, ValidationError
from dagr.permissions import rules
from dagr.records.services import records_upsert

from . import parsing
from .models import UploadedFile
from .preview import preview_rows

PROGRESS_EVERY = 1000


def max_upload_bytes() -> int:
    return int(getattr(settings, "DAGR_UPLOAD_MAX_BYTES", 200 * 1024 * 1024))


def _folder(dataset: Dataset) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "uploads" / str(dataset.pk)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_path(upload: UploadedFile) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / str(upload.dataset_id) / upload.stored_name


def _progress_path(upload: UploadedFile) -> Path:
    return stored_path(upload).with_suffix(".progress")


def _check(actor: Any, dataset: Dataset) -> None:
    if not rules.can_load_dataset(actor, dataset):
        raise PermissionDenied(_("You may not load data into this dataset."))
    if dataset.status == Dataset.Status.RETIRED:
        raise Conflict(_("A retired dataset cannot receive data."), code="dataset_retired")
    if dataset.schema is None:
        raise Conflict(_("The dataset has no schema yet."), code="dataset_without_schema")


def _list_fields(dataset: Dataset) -> frozenset[str]:
    definition = dataset.schema.definition if dataset.schema else {}
    return frozenset(f["name"] for f in definition.get("fields", []) if f.get("type") == "list")


def _rows(upload: UploadedFile, handle: Any) -> Any:
    return parsing.read_rows(
        handle,
        filename=upload.original_name,
        fmt=upload.file_format,
        encoding=upload.encoding,
        delimiter=upload.delimiter,
        list_fields=_list_fields(upload.dataset),
    )


def upload_receive(
    *,
    actor: Any,
    dataset: Dataset,
    file: DjangoUploadedFile,
    mode: str,
    encoding: str = "auto",
    delimiter: str = "auto",
) -> UploadedFile:
    """Store the file and preview it. Nothing is loaded: the preview says what a load would do.
    A file that cannot be read is refused with a clear error and not kept."""
    _check(actor, dataset)
    if mode not in UploadedFile.Mode.values:
        raise ValidationError(_("Choose how to load the file."), code="invalid_mode")
    limit = max_upload_bytes()
    if file.size is not None and file.size > limit:
        raise ValidationError(
            _("The file is larger than the limit of %(mb)s MB.") % {"mb": limit // 2**20},
            code="file_too_large",
        )
    stored_name = secrets.token_hex(16) + Path(file.name or "").suffix.lower()[:10]
    target = _folder(dataset) / stored_name
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        for chunk in file.chunks():
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise ValidationError(
                    _("The file is larger than the limit of %(mb)s MB.") % {"mb": limit // 2**20},
                    code="file_too_large",
                )
            digest.update(chunk)
            out.write(chunk)
    with open(target, "rb") as handle:
        head = handle.read(parsing.SNIFF_BYTES)
    upload = UploadedFile(
        dataset=dataset,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
        original_name=(file.name or "data")[:255],
        stored_name=stored_name,
        size=size,
        sha256=digest.hexdigest(),
        file_format=parsing.detect_format(file.name or "", head) if head else "csv",
        encoding=encoding,
        delimiter=delimiter,
        mode=mode,
        status=UploadedFile.Status.PREVIEWED,
    )
    try:
        with open(target, "rb") as handle:
            upload.preview = preview_rows(
                dataset=dataset,
                rows=_rows(upload, handle),
                snapshot=mode == UploadedFile.Mode.SNAPSHOT,
            )
    except parsing.FileError:
        target.unlink(missing_ok=True)
        raise
    if upload.preview["invalid"]:
        upload.status = UploadedFile.Status.INVALID
    elif not upload.preview["received"]:
        target.unlink(missing_ok=True)
        raise ValidationError(_("The file holds no records."), code="file_no_records")
    with transaction.atomic():
        upload.save()
        admin_entry_create(
            action="uploads.file.uploaded",
            actor=actor,
            target=upload,
            institution_id=dataset.provider_id,
            changes={"dataset": [None, dataset.code], "mode": [None, mode], "size": [None, size]},
        )
    return upload


def upload_confirm(*, actor: Any, upload: UploadedFile) -> UploadedFile:
    """Queue the load of a previewed file; the background worker runs it."""
    _check(actor, upload.dataset)
    from .tasks import upload_load_task

    with transaction.atomic():
        locked = UploadedFile.objects.select_for_update().get(pk=upload.pk)
        if locked.status != UploadedFile.Status.PREVIEWED:
            raise Conflict(_("This file cannot be loaded (again)."), code="upload_not_loadable")
        locked.status = UploadedFile.Status.QUEUED
        locked.save(update_fields=["status"])
        admin_entry_create(
            action="uploads.file.confirmed",
            actor=actor,
            target=locked,
            institution_id=locked.dataset.provider_id,
        )
        actor_id = getattr(actor, "pk", None)
        transaction.on_commit(
            lambda: upload_load_task.enqueue(upload_id=locked.pk, actor_id=actor_id)
        )
    return locked


def upload_cancel(*, actor: Any, upload: UploadedFile) -> None:
    _check(actor, upload.dataset)
    updated = UploadedFile.objects.filter(
        pk=upload.pk, status__in=[UploadedFile.Status.PREVIEWED, UploadedFile.Status.INVALID]
    ).update(status=UploadedFile.Status.CANCELLED, finished_at=timezone.now())
    if not updated:
        raise Conflict(_("This file can no longer be cancelled."), code="upload_not_cancellable")


def upload_load(*, upload_id: int, actor: Any) -> UploadedFile:
    """The background load: stream the stored file into the loading service (atomic: all or
    nothing), reporting progress to the status page."""
    upload = UploadedFile.objects.select_related("dataset", "dataset__schema").get(pk=upload_id)
    if upload.status != UploadedFile.Status.QUEUED:
        return upload
    UploadedFile.objects.filter(pk=upload.pk).update(status=UploadedFile.Status.LOADING)
    progress = _progress_path(upload)
    total = upload.preview.get("received", 0)

    def rows() -> Any:
        with open(stored_path(upload), "rb") as handle:
            for number, (_row, record) in enumerate(_rows(upload, handle), start=1):
                if number % PROGRESS_EVERY == 0:
                    progress.write_bytes(orjson.dumps({"done": number, "total": total}))
                yield record

    try:
        load = records_upsert(
            actor=actor,
            dataset=upload.dataset,
            records=rows(),
            source="upload",
            mode=upload.mode,
            details={"upload_id": upload.pk, "file": upload.original_name},
            coerce=True,
        )
    except Exception as exc:  # any failure: nothing was loaded; the page says why
        UploadedFile.objects.filter(pk=upload.pk).update(
            status=UploadedFile.Status.FAILED,
            error=str(getattr(exc, "message", exc))[:2000],
            finished_at=timezone.now(),
        )
    else:
        UploadedFile.objects.filter(pk=upload.pk).update(
            status=UploadedFile.Status.LOADED, load=load, finished_at=timezone.now()
        )
    finally:
        progress.unlink(missing_ok=True)
    return UploadedFile.objects.get(pk=upload.pk)


def upload_progress(upload: UploadedFile) -> dict[str, int]:
    total = int(upload.preview.get("received", 0))
    if upload.status == UploadedFile.Status.LOADED:
        return {"done": total, "total": total}
    try:
        data = orjson.loads(_progress_path(upload).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {"done": 0, "total": total}
    return {"done": int(data.get("done", 0)), "total": total}


def upload_delete_file(*, actor: Any, upload: UploadedFile) -> None:
    """Delete the stored file. The records it loaded stay: deleting a file never deletes data."""
    _check(actor, upload.dataset)
    if upload.status in (UploadedFile.Status.QUEUED, UploadedFile.Status.LOADING):
        raise Conflict(_("The file is being loaded; delete it afterwards."), code="upload_busy")
    with transaction.atomic():
        UploadedFile.objects.filter(pk=upload.pk).update(file_deleted_at=timezone.now())
        admin_entry_create(
            action="uploads.file.deleted",
            actor=actor,
            target=upload,
            institution_id=upload.dataset.provider_id,
        )
    stored = stored_path(upload)
    if stored.exists():
        os.remove(stored)
