"""Portal pages of file uploads: upload and history, a file's preview / progress / summary,
confirm, cancel, download, delete, and the download of the dataset's current data."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from dagr.core.errors import DomainError
from dagr.core.tabular import csv_stream, xlsx_bytes
from dagr.permissions.access import ActorRequest, authenticated

from . import selectors, services
from .forms import UploadForm
from .handlers import SizeLimitHandler
from .models import UploadedFile


@authenticated
@csrf_exempt  # the CSRF check runs below, after the size limit is in place (Django's pattern)
def dataset_uploads(request: ActorRequest, code: str) -> HttpResponse:
    """The upload form, the downloads and the file history of one dataset."""
    limiter = SizeLimitHandler(request, services.max_upload_bytes())
    request.upload_handlers.insert(0, limiter)
    return _dataset_uploads(request, code, limiter)


@csrf_protect
def _dataset_uploads(request: ActorRequest, code: str, limiter: SizeLimitHandler) -> HttpResponse:
    dataset = selectors.dataset_for_loading(actor=request.user, code=code)
    form = UploadForm(request.POST or None, request.FILES or None)
    status, refused = 200, ""
    if request.method == "POST":
        if limiter.exceeded:  # nothing was stored; the rest of the body was read and dropped
            form, refused, status = UploadForm(), str(services.too_large_message()), 413
        elif form.is_valid():
            try:
                upload = services.upload_receive(
                    actor=request.user, dataset=dataset, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error("file", str(exc.message))
                status = 422
            else:
                return redirect("uploads:file", pk=upload.pk)
        else:
            status = 422
    context = {
        "dataset": dataset,
        "form": form,
        "uploads": selectors.upload_list(dataset=dataset)[:100],
        "limit": limiter.limit,
        "refused": refused,
    }
    return render(request, "uploads/dataset.html", context, status=status)


@authenticated
def upload_detail(request: ActorRequest, pk: int) -> HttpResponse:
    """The preview (before confirmation), the progress (while checking or loading) or the
    summary (afterwards) of one uploaded file."""
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    context = {
        "upload": upload,
        "dataset": upload.dataset,
        "preview": upload.preview,
        "table": selectors.preview_table(upload=upload),
        "running": upload.status in services.BUSY,
        "progress": services.upload_progress(upload),
        "confirm_deletions_needed": upload.status == UploadedFile.Status.PREVIEWED
        and services.upload_deletions_problem(upload) is not None,
    }
    return render(request, "uploads/file.html", context)


@authenticated
def upload_progress(request: ActorRequest, pk: int) -> JsonResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    return JsonResponse({"status": upload.status, **services.upload_progress(upload)})


@authenticated
@require_POST
def upload_confirm(request: ActorRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    raw = request.POST.get("confirm_deletions", "")
    confirm_deletions = int(raw) if raw.isascii() and raw.isdigit() else None
    try:
        services.upload_confirm(
            actor=request.user, upload=upload, confirm_deletions=confirm_deletions
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("uploads:file", pk=pk)


@authenticated
@require_POST
def upload_cancel(request: ActorRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    try:
        services.upload_cancel(actor=request.user, upload=upload)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Cancelled: nothing was loaded."))
    return redirect("uploads:dataset", code=upload.dataset.code)


@authenticated
def upload_download(request: ActorRequest, pk: int) -> HttpResponseBase:
    """The original file, byte for byte, under its original name."""
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    path = services.stored_path(upload)
    if upload.file_deleted_at or not path.exists():
        messages.error(request, _("The file has been deleted."))
        return redirect("uploads:file", pk=upload.pk)
    return FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=upload.original_name,
        content_type="application/octet-stream",
    )


@authenticated
def upload_delete(request: ActorRequest, pk: int) -> HttpResponse:
    """A confirmation page that says what deleting does; the POST deletes the stored file."""
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    if request.method == "POST":
        try:
            services.upload_delete_file(actor=request.user, upload=upload)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("uploads:file", pk=upload.pk)
        messages.success(
            request,
            _("The file was deleted. The records it loaded are still in the dataset.")
            if upload.status == UploadedFile.Status.LOADED
            else _("The file was deleted. It was never loaded, so no records changed."),
        )
        return redirect("uploads:dataset", code=upload.dataset.code)
    return render(request, "uploads/delete.html", {"upload": upload, "dataset": upload.dataset})


@authenticated
def dataset_export(request: ActorRequest, code: str, fmt: str) -> HttpResponseBase:
    """The dataset's current records as CSV (streamed) or XLSX; formula-safe cells."""
    dataset = selectors.dataset_for_loading(actor=request.user, code=code)
    columns = services.dataset_export_start(actor=request.user, dataset=dataset, fmt=fmt)
    records = selectors.current_records(dataset=dataset)
    if fmt == "xlsx":
        response: HttpResponseBase = HttpResponse(
            xlsx_bytes(columns, records, sheet_title=dataset.code),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            csv_stream(columns, records), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{dataset.code}.{fmt}"'
    return response
