"""File uploads: receive and check a file, preview it, load it in the background, keep it.

Files are stored under ``MEDIA_ROOT/uploads/<dataset id>/`` with random names; the original name
is only displayed. The size limit is enforced while the request is received
(``handlers.SizeLimitHandler``) and again while the file is copied here.

Small files are checked in the upload request; larger ones by the background worker. The
progress of a check or a load is a small JSON file next to the stored file (the load runs in one
database transaction, which nobody else can see into until it commits; the media folder is
shared by the web processes and workers anyway, since they all read the stored files).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile as DjangoUploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.accounts.models import acting_user
from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from dagr.permissions import rules
from dagr.records.services import (
    dataset_load_check,
    records_upsert,
    snapshot_deletions_problem,
)

from . import parsing
from .models import UploadedFile
from .preview import preview_rows
from .selectors import current_record_count

PROGRESS_EVERY = 1000
SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
MAX_LOAD_ERRORS = 50
logger = logging.getLogger(__name__)


def max_upload_bytes() -> int:
    return int(getattr(settings, "DAGR_UPLOAD_MAX_BYTES", 200 * 1024 * 1024))


def xlsx_max_records() -> int:
    """An XLSX download is built in memory (and a sheet holds at most 1,048,575 records)."""
    return int(getattr(settings, "DAGR_EXPORT_XLSX_MAX_RECORDS", 300_000))


def _folder(dataset: Dataset) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "uploads" / str(dataset.pk)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_path(upload: UploadedFile) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / str(upload.dataset_id) / upload.stored_name


def _progress_path(upload: UploadedFile) -> Path:
    return stored_path(upload).with_suffix(".progress")


def _check(actor: Actor, dataset: Dataset) -> None:
    dataset_load_check(actor=actor, dataset=dataset)
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


def inline_check_bytes() -> int:
    """Files up to this size are checked during the upload request; larger ones by the worker
    (the page shows the check's progress instead of a request that takes minutes)."""
    return int(getattr(settings, "DAGR_UPLOAD_INLINE_CHECK_BYTES", 5 * 1024 * 1024))


def too_large_message() -> str:
    return _("The file is larger than the limit of %(size)s. Nothing was stored.") % {
        "size": filesizeformat(max_upload_bytes())
    }


def _too_large(limit: int) -> ValidationError:
    return ValidationError(too_large_message(), code="file_too_large")


def _store(dataset: Dataset, file: DjangoUploadedFile) -> tuple[str, int, str]:
    """Copy the received file under a random name: ``(stored name, size, sha256)``."""
    limit = max_upload_bytes()
    if file.size is not None and file.size > limit:
        raise _too_large(limit)
    suffix = Path(file.name or "").suffix.lower()
    stored_name = secrets.token_hex(16) + (suffix if SAFE_SUFFIX.fullmatch(suffix) else "")
    target = _folder(dataset) / stored_name
    digest, size = hashlib.sha256(), 0
    try:
        with open(target, "wb") as out:
            for chunk in file.chunks():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return stored_name, size, digest.hexdigest()


def _check_file(upload: UploadedFile, on_progress: Any = None) -> None:
    """Fill ``upload.preview`` and the status from the stored file (raises ``DomainError`` for a
    file that cannot be read or holds no records)."""
    with open(stored_path(upload), "rb") as handle:
        preview = preview_rows(
            dataset=upload.dataset,
            rows=_rows(upload, handle),
            snapshot=upload.mode == UploadedFile.Mode.SNAPSHOT,
            on_progress=on_progress,
        )
    if not preview["received"]:
        raise ValidationError(_("The file holds no records."), code="file_no_records")
    upload.preview = preview
    upload.rows_total = preview["received"]
    upload.status = (
        UploadedFile.Status.INVALID if preview["invalid"] else UploadedFile.Status.PREVIEWED
    )


def upload_receive(
    *,
    actor: Actor,
    dataset: Dataset,
    file: DjangoUploadedFile,
    mode: str,
    encoding: str = "auto",
    delimiter: str = "auto",
) -> UploadedFile:
    """Store the file and check it. Nothing is loaded: the preview says what a load would do.

    A small file is checked at once, and one that cannot be read is refused with a clear error
    and not kept. A larger one is checked by the background worker (status ``uploaded`` until
    then); a problem found there is shown on the file's page."""
    _check(actor, dataset)
    if mode not in UploadedFile.Mode.values:
        raise ValidationError(_("Choose how to load the file."), code="invalid_mode")
    if encoding not in parsing.ENCODINGS:
        raise ValidationError(_("Choose a text encoding from the list."), code="invalid_encoding")
    if delimiter != "auto" and delimiter not in parsing.DELIMITERS:
        raise ValidationError(_("Choose a delimiter from the list."), code="file_bad_delimiter")
    stored_name, size, sha256 = _store(dataset, file)
    target = _folder(dataset) / stored_name
    with open(target, "rb") as handle:
        head = handle.read(parsing.SNIFF_BYTES)
    upload = UploadedFile(
        dataset=dataset,
        uploaded_by=acting_user(actor),
        original_name=Path(file.name or "data").name[:255] or "data",
        stored_name=stored_name,
        size=size,
        sha256=sha256,
        file_format=parsing.detect_format(file.name or "", head) if head else "csv",
        encoding=encoding,
        delimiter=delimiter,
        mode=mode,
        status=UploadedFile.Status.UPLOADED,
    )
    inline = size <= inline_check_bytes()
    if inline:
        try:
            _check_file(upload)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    with transaction.atomic():
        upload.save()
        admin_entry_create(
            action="uploads.file.uploaded",
            actor=actor,
            target=upload,
            institution_id=dataset.provider_id,
            changes={"dataset": [None, dataset.code], "mode": [None, mode], "size": [None, size]},
        )
        if not inline:
            # tasks.py imports this module, so a top-level import of it would be an import cycle
            from .tasks import upload_check_task

            upload_id = upload.pk
            transaction.on_commit(lambda: upload_check_task.enqueue(upload_id=upload_id))
    return upload


def upload_check(*, upload_id: int) -> UploadedFile:
    """The background check of a large file: the preview, or the reason it cannot be read. Any
    failure ends the check (status ``invalid`` with the reason), so the page never waits forever."""
    upload = UploadedFile.objects.select_related("dataset", "dataset__schema").get(pk=upload_id)
    if upload.status != UploadedFile.Status.UPLOADED:
        return upload
    progress = _progress_path(upload)

    def report(done: int) -> None:
        progress.write_bytes(orjson.dumps({"done": done, "total": 0}))

    try:
        _check_file(upload, on_progress=report)
    except DomainError as exc:
        upload.status, upload.error = UploadedFile.Status.INVALID, str(exc.message)[:2000]
    except Exception:
        logger.exception("checking uploaded file %s failed", upload.pk)
        upload.status = UploadedFile.Status.INVALID
        upload.error = _("The file could not be checked. Try again or upload another file.")
    finally:
        progress.unlink(missing_ok=True)
    UploadedFile.objects.filter(pk=upload.pk, status=UploadedFile.Status.UPLOADED).update(
        status=upload.status,
        preview=upload.preview,
        rows_total=upload.rows_total,
        error=upload.error,
    )
    return UploadedFile.objects.get(pk=upload.pk)


def upload_deletions_problem(
    upload: UploadedFile, confirm_deletions: int | None = None
) -> DomainError | None:
    """Whether a snapshot upload needs (another) confirmation of its deletions, by the loading
    service's one snapshot-safety rule applied to the preview's counts: ``None`` when it may be
    loaded with ``confirm_deletions``, else the refusal naming the number to confirm."""
    if upload.mode != UploadedFile.Mode.SNAPSHOT:
        return None
    preview = upload.preview or {}
    return snapshot_deletions_problem(
        received=int(preview.get("received", 0)),
        live=int(preview.get("live", 0)),  # a preview without it: always ask
        would_delete=int(preview.get("deleted", 0)),
        confirm_deletions=confirm_deletions,
    )


def upload_confirm(
    *, actor: Actor, upload: UploadedFile, confirm_deletions: int | None = None
) -> UploadedFile:
    """Queue the load of a previewed file; the background worker runs it. Refused when the file
    had errors, was deleted, or the dataset's schema changed since the check, and for a snapshot
    that deletes too much (``upload_deletions_problem``) unless ``confirm_deletions`` is the
    preview's number of deletions; the load passes that number on, so if the data changed since
    the preview the load is refused too."""
    _check(actor, upload.dataset)
    # tasks.py imports this module, so a top-level import of it would be an import cycle
    from .tasks import upload_load_task

    with transaction.atomic():
        locked = (
            UploadedFile.objects.select_for_update().select_related("dataset").get(pk=upload.pk)
        )
        if locked.status != UploadedFile.Status.PREVIEWED or locked.file_deleted_at:
            raise Conflict(_("This file cannot be loaded (again)."), code="upload_not_loadable")
        if locked.preview.get("schema_version") != locked.dataset.schema_id:
            raise Conflict(
                _(
                    "The dataset's schema has changed since the file was checked. "
                    "Upload the file again to check it against the new schema."
                ),
                code="upload_schema_changed",
            )
        if locked.mode != UploadedFile.Mode.SNAPSHOT:
            confirm_deletions = None
        refusal = upload_deletions_problem(locked, confirm_deletions)
        if refusal is not None:
            raise refusal
        locked.status = UploadedFile.Status.QUEUED
        locked.save(update_fields=["status"])
        admin_entry_create(
            action="uploads.file.confirmed",
            actor=actor,
            target=locked,
            institution_id=locked.dataset.provider_id,
            changes={} if confirm_deletions is None else {"confirm_deletions": confirm_deletions},
        )
        actor_id = getattr(actor, "pk", None)
        transaction.on_commit(
            lambda: upload_load_task.enqueue(
                upload_id=locked.pk, actor_id=actor_id, confirm_deletions=confirm_deletions
            )
        )
    return locked


UNCONFIRMED = (UploadedFile.Status.PREVIEWED, UploadedFile.Status.INVALID)
BUSY = (UploadedFile.Status.UPLOADED, UploadedFile.Status.QUEUED, UploadedFile.Status.LOADING)


def upload_cancel(*, actor: Actor, upload: UploadedFile) -> None:
    """Drop a checked file without loading it (the file itself is kept in the history)."""
    _check(actor, upload.dataset)
    with transaction.atomic():
        updated = UploadedFile.objects.filter(pk=upload.pk, status__in=UNCONFIRMED).update(
            status=UploadedFile.Status.CANCELLED, finished_at=timezone.now()
        )
        if not updated:
            raise Conflict(
                _("This file can no longer be cancelled."), code="upload_not_cancellable"
            )
        admin_entry_create(
            action="uploads.file.cancelled",
            actor=actor,
            target=upload,
            institution_id=upload.dataset.provider_id,
        )


def upload_load(
    *, upload_id: int, actor: Actor, confirm_deletions: int | None = None
) -> UploadedFile:
    """The background load: stream the stored file into the loading service (atomic: all or
    nothing), reporting progress to the status page. Runs once even if two workers get it.
    ``confirm_deletions`` is what the user confirmed for a snapshot (``upload_confirm``)."""
    upload = UploadedFile.objects.select_related("dataset", "dataset__schema").get(pk=upload_id)
    claimed = UploadedFile.objects.filter(pk=upload.pk, status=UploadedFile.Status.QUEUED).update(
        status=UploadedFile.Status.LOADING
    )
    if not claimed:
        return upload
    progress = _progress_path(upload)
    total = upload.rows_total or upload.preview.get("received", 0)

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
            confirm_deletions=confirm_deletions,
        )
    except Exception as exc:  # any failure: the load's transaction stored nothing
        if not isinstance(exc, DomainError):
            logger.exception("loading uploaded file %s failed", upload.pk)
        message = (
            str(exc.message)
            if isinstance(exc, DomainError)
            else _("An unexpected error stopped the load.")
        )
        errors = [
            {"row": e.get("position"), "field": e.get("field", ""), "message": e.get("message")}
            for e in (getattr(exc, "errors", None) or [])[:MAX_LOAD_ERRORS]
        ]
        UploadedFile.objects.filter(pk=upload.pk).update(
            status=UploadedFile.Status.FAILED,
            error=message[:2000],
            preview={**upload.preview, "load_errors": errors},
            finished_at=timezone.now(),
        )
    else:
        UploadedFile.objects.filter(pk=upload.pk).update(
            status=UploadedFile.Status.LOADED,
            load=load,
            rows_done=load.received,
            finished_at=timezone.now(),
        )
    finally:
        progress.unlink(missing_ok=True)
    return UploadedFile.objects.get(pk=upload.pk)


def upload_progress(upload: UploadedFile) -> dict[str, int]:
    """``{"done", "total"}`` rows of the running check or load (total 0 while checking)."""
    if upload.status == UploadedFile.Status.LOADED:
        return {"done": upload.rows_done, "total": upload.rows_done}
    total = 0 if upload.status == UploadedFile.Status.UPLOADED else upload.rows_total
    try:
        data = orjson.loads(_progress_path(upload).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {"done": 0, "total": total}
    return {"done": int(data.get("done", 0)), "total": total}


def upload_delete_file(*, actor: Actor, upload: UploadedFile) -> None:
    """Delete the stored file. The records it loaded stay: deleting a file never deletes data.
    A file that was checked but not loaded is cancelled with it."""
    _check(actor, upload.dataset)
    with transaction.atomic():
        locked = UploadedFile.objects.select_for_update().get(pk=upload.pk)
        if locked.status in BUSY:
            raise Conflict(
                _("The file is being checked or loaded; delete it afterwards."),
                code="upload_busy",
            )
        if locked.file_deleted_at:
            raise Conflict(_("The file has already been deleted."), code="upload_file_deleted")
        now = timezone.now()
        locked.file_deleted_at = now
        fields = ["file_deleted_at"]
        if locked.status in UNCONFIRMED:
            locked.status, locked.finished_at = UploadedFile.Status.CANCELLED, now
            fields += ["status", "finished_at"]
        locked.save(update_fields=fields)
        admin_entry_create(
            action="uploads.file.deleted",
            actor=actor,
            target=locked,
            institution_id=upload.dataset.provider_id,
        )
        path = stored_path(locked)
        transaction.on_commit(lambda: path.unlink(missing_ok=True))


def dataset_export_start(*, actor: Actor, dataset: Dataset, fmt: str) -> list[str]:
    """Record that the actor downloads the dataset's current data; return the columns (the
    schema's field names). The records come from ``selectors.current_records``."""
    if not rules.can_edit_dataset(actor, dataset):
        raise PermissionDenied(_("You may not download this dataset's data."))
    if fmt not in ("csv", "xlsx"):
        raise ValidationError(_("Unknown download format."), code="invalid_format")
    if fmt == "xlsx" and current_record_count(dataset=dataset) > xlsx_max_records():
        raise ValidationError(
            _(
                "The dataset has more than %(max)s records, too many for an XLSX file. "
                "Download it as CSV."
            )
            % {"max": xlsx_max_records()},
            code="export_too_large",
        )
    with transaction.atomic():
        admin_entry_create(
            action="uploads.dataset.exported",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes={"format": fmt},
        )
    fields = dataset.schema.definition.get("fields", []) if dataset.schema else []
    return [f["name"] for f in fields]
