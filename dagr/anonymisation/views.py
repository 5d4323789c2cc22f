"""Test data pages: the public list, documentation and downloads (no login), and the provider's
settings, release building and release progress pages."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dagr.core.errors import DomainError, ValidationError
from dagr.core.tabular import cell, csv_stream, safe_text
from dagr.permissions.access import ActorRequest, authenticated, public

from . import selectors, services
from .configuration import settings_for
from .forms import QI_LEVELS, params_text, parse_settings
from .models import Release
from .rules import RULE_KINDS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- public ------------------------------------------------------------------------------------


@public
def test_data_index(request: HttpRequest) -> HttpResponse:
    """Published test datasets, grouped by provider."""
    return render(request, "anonymisation/index.html", {"groups": selectors.published_list()})


@public
def test_data_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A published test dataset: its fields and how each is anonymised, the privacy report and
    the downloads."""
    published = selectors.published_get(code=code)
    rules = published.item.rules if published.item else None
    context = {
        "published": published,
        "fields": selectors.field_docs(published.source, rules),
        "report": published.release.report,
        "view": selectors.report_view(published.release.report),
    }
    return render(request, "anonymisation/detail.html", context)


@public
def test_data_download(request: HttpRequest, code: str, fmt: str) -> HttpResponseBase:
    """The latest published release of a dataset as CSV (streamed) or XLSX (written to a
    temporary file in openpyxl's write-only mode, then streamed from it); formula-safe cells,
    nested lists as JSON cells."""
    published = selectors.published_get(code=code)
    columns = selectors.columns(published.target)
    records = selectors.test_records(published.target)
    filename = f"{published.target.code}.{fmt}"
    if fmt == "xlsx":
        handle = _xlsx_file(columns, records, sheet_title=published.target.code)
        return FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX)
    response = StreamingHttpResponse(
        csv_stream(columns, records), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _xlsx_file(columns: list[str], records: Any, *, sheet_title: str) -> Any:
    from openpyxl import Workbook  # start-up cost: only downloads need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31] or "data")
    sheet.append([safe_text(c) for c in columns])
    for record in records:
        sheet.append([cell(record.get(c)) for c in columns])
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(handle)
    handle.seek(0)
    return handle


# --- the provider's side --------------------------------------------------------------------------


@authenticated
def test_data_settings(request: ActorRequest, code: str) -> HttpResponse:
    """The rule of every field (default and chosen), the privacy settings, building a release and
    the list of releases of one dataset."""
    dataset = selectors.dataset_for_test_data(actor=request.user, code=code)
    docs = selectors.field_docs(dataset)
    stored = settings_for(dataset)
    errors: dict[str, str] = {}
    general: list[str] = []
    status = 200
    posted: dict[str, Any] | None = None
    if request.method == "POST":
        paths = [d.path for d in docs if d.field.type != "list"]
        posted, errors = parse_settings(request.POST, dataset_code=dataset.code, paths=paths)
        if not errors:
            try:
                services.settings_update(actor=request.user, dataset=dataset, **posted)
            except ValidationError as exc:
                for problem in exc.errors or []:
                    location = str(problem.get("location", ""))
                    if location in paths:
                        errors[location] = str(problem.get("message", ""))
                    else:
                        general.append(str(problem.get("message", "")))
                if not exc.errors:
                    general.append(str(exc.message))
            except DomainError as exc:
                general.append(str(exc.message))
            else:
                messages.success(request, _("The test data settings were saved."))
                return redirect("anonymisation:settings", code=dataset.code)
        status = 422
    context = {
        "dataset": dataset,
        "rows": _rows(dataset, docs, stored, posted, errors),
        "k": (posted or {}).get("k") or stored.k,
        "errors": errors,
        "general_errors": general,
        "rule_kinds": RULE_KINDS,
        "qi_levels": QI_LEVELS,
        "linkable": selectors.linkable_datasets(dataset, request.user),
        "releases": selectors.release_list(dataset=dataset),
    }
    return render(request, "anonymisation/settings.html", context, status=status)


def _rows(
    dataset: Any,
    docs: list[Any],
    stored: Any,
    posted: dict[str, Any] | None,
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    defaults = selectors.default_rule_of(dataset)
    if posted is not None:
        chosen = posted["rules"]
        qis = {q["path"]: q["level"] for q in posted["quasi_identifiers"]}
        sensitive = set(posted["sensitive"])
    else:
        chosen = {d.path: d.rule for d in docs}
        qis = {
            q["path"]: q.get("level", "exact")
            for q in stored.quasi_identifiers or []
            if q.get("dataset", dataset.code) == dataset.code
        }
        sensitive = set(stored.sensitive or [])
    rows = []
    for doc in docs:
        rule = chosen.get(doc.path) or defaults.get(doc.path) or {}
        params = rule.get("params") or {}
        rows.append(
            {
                "doc": doc,
                "default": defaults.get(doc.path),
                "kind": rule.get("kind", ""),
                "params": params_text(params),
                "qi": qis.get(doc.path, ""),
                "sensitive": doc.path in sensitive,
                "error": errors.get(doc.path, ""),
                "is_list": doc.field.type == "list",
                "slug": doc.path.replace(".", "-"),
            }
        )
    return rows


@authenticated
@require_POST
def release_create(request: ActorRequest, code: str) -> HttpResponse:
    """Queue a release of this dataset and the chosen linked ones; show its progress."""
    dataset = selectors.dataset_for_test_data(actor=request.user, code=code)
    chosen = [dataset]
    linkable = {d.code: d for d in selectors.linkable_datasets(dataset, request.user)}
    chosen += [linkable[c] for c in request.POST.getlist("datasets") if c in linkable]
    try:
        release = services.release_request(actor=request.user, datasets=chosen)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("anonymisation:settings", code=dataset.code)
    return redirect("anonymisation:release", pk=release.pk)


@authenticated
def release_detail(request: ActorRequest, pk: int) -> HttpResponse:
    """A release: its progress while it is built, then its privacy report; when refused, why and
    which rule to tighten."""
    release = selectors.release_get_for(actor=request.user, pk=pk)
    context = {
        "release": release,
        "items": selectors.release_items(release),
        "progress": selectors.release_progress(release),
        "running": release.status in (Release.Status.QUEUED, Release.Status.RUNNING),
        "report": release.report,
        "view": selectors.report_view(release.report),
    }
    return render(request, "anonymisation/release.html", context)


@authenticated
def release_progress(request: ActorRequest, pk: int) -> JsonResponse:
    release = selectors.release_get_for(actor=request.user, pk=pk)
    return JsonResponse(selectors.release_progress(release))
