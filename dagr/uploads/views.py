from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dagr.core.errors import DomainError
from dagr.core.tabular import csv_stream, xlsx_bytes
from dagr.permissions.access import authenticated
from dagr.records.models import Record

from . import selectors, services
from .forms import UploadForm
from .models import UploadedFile


@authenticated
def dataset_uploads(request: HttpRequest, code: str) -> HttpResponse:
    """The upload form and the file history of one dataset."""
    dataset = selectors.dataset_for_loading(actor=request.user, code=code)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    limit = services.max_upload_bytes()
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            form = UploadForm()
            form.add_error(None, _("The file is larger than the limit of %(mb)s MB.")
                           % {"mb": limit // 2**20})  # fmt: skip
            status = 413
        elif form.is_valid():
            try:
                upload = services.upload_receive(
                    actor=request.user,
                    dataset=dataset,
                    file=form.cleaned_data["file"],
                    mode=form.cleaned_data["mode"],
                    encoding=form.cleaned_data["encoding"],
                    delimiter=form.cleaned_data["delimiter"],
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
        "limit_mb": limit // 2**20,
    }
    return render(request, "uploads/dataset.html", context, status=status)


@authenticated
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    running = upload.status in (UploadedFile.Status.QUEUED, UploadedFile.Status.LOADING)
    context = {
        "upload": upload,
        "dataset": upload.dataset,
        "preview": upload.preview,
        "running": running,
        "progress": services.upload_progress(upload),
    }
    return render(request, "uploads/file.html", context)


@authenticated
def upload_progress(request: HttpRequest, pk: int) -> JsonResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    return JsonResponse({"status": upload.status, **services.upload_progress(upload)})


@authenticated
@require_POST
def upload_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    try:
        services.upload_confirm(actor=request.user, upload=upload)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("uploads:file", pk=pk)


@authenticated
@require_POST
def upload_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    try:
        services.upload_cancel(actor=request.user, upload=upload)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Cancelled: nothing was loaded."))
    return redirect("uploads:dataset", code=upload.dataset.code)


@authenticated
def upload_download(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    path = services.stored_path(upload)
    if upload.file_deleted_at or not path.exists():
        messages.error(request, _("The file has been deleted."))
        return redirect("uploads:dataset", code=upload.dataset.code)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=upload.original_name)


@authenticated
def upload_delete(request: HttpRequest, pk: int) -> HttpResponse:
    upload = selectors.upload_get_for(actor=request.user, pk=pk)
    if request.method == "POST":
        try:
            services.upload_delete_file(actor=request.user, upload=upload)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request, _("The file was deleted. The records it loaded are still in the dataset.")
            )
        return redirect("uploads:dataset", code=upload.dataset.code)
    return render(request, "uploads/delete.html", {"upload": upload, "dataset": upload.dataset})


def _current_records(dataset):  # type: ignore[no-untyped-def]
    return (
        data
        for data in Record.objects.filter(dataset=dataset, deleted_at=None)
        .order_by("id")
        .values_list("data", flat=True)
        .iterator(chunk_size=2000)
    )


@authenticated
def dataset_export(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    """The dataset's current records as CSV (streamed) or XLSX; formula-safe cells."""
    dataset = selectors.dataset_for_loading(actor=request.user, code=code)
    columns = [f["name"] for f in (dataset.schema.definition["fields"] if dataset.schema else [])]
    if fmt == "xlsx":
        response = HttpResponse(
            xlsx_bytes(columns, _current_records(dataset), sheet_title=dataset.code),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            csv_stream(columns, _current_records(dataset)), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{dataset.code}.{fmt}"'
    return response
