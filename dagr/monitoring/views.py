"""Portal pages of record sets (DU-2), for data recipient representatives of the institution:
the list, creating a set over one of the institution's grants, the set's page (watched values
page by page, CSV upload, removal) and deletion. Views parse input and call one service or
selector; which record sets a user may see is decided there (another institution's: 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dagr.catalog.selectors import schema_rows
from dagr.core.errors import DomainError
from dagr.grants.forms import conditions_from_rows
from dagr.grants.selectors import dataset_schema_of, describe_condition
from dagr.permissions import rules
from dagr.permissions.access import requires

from . import selectors, services
from .forms import RecordSetForm, RemoveForm, UploadForm, record_set_condition_rows
from .models import RecordSet

IDENTIFIERS_PER_PAGE = 50


def _form_errors(form: Any, exc: DomainError) -> None:
    form.add_error(None, str(exc.message))
    for error in exc.errors[: services.MAX_REPORTED_ERRORS]:
        if error.get("message"):
            form.add_error(None, f"{error.get('location', '')}: {error['message']}")


@requires(rules.can_view_granted_data)
def record_set_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "monitoring/recordset_list.html",
        {
            "record_sets": selectors.record_sets_of(actor=request.user),
            "can_create": bool(selectors.grants_for_record_sets(actor=request.user)),
        },
    )


@requires(rules.can_view_granted_data)
def record_set_create(request: HttpRequest) -> HttpResponse:
    grant_id = request.GET.get("grant", "")[:20]
    if not grant_id:
        grants = selectors.grants_for_record_sets(actor=request.user)
        return render(request, "monitoring/recordset_choose_grant.html", {"grants": grants})
    grant = selectors.grant_for_record_sets(actor=request.user, pk=grant_id)
    schema = dataset_schema_of(grant.dataset)
    data = request.POST if request.method == "POST" else None
    form = RecordSetForm(data, schema=schema, granted=list(grant.fields))
    rows = record_set_condition_rows(data, schema, list(grant.fields))
    if data is not None and form.is_valid():
        conditions = conditions_from_rows(rows)
        if conditions is not None:
            try:
                record_set = services.record_set_create(
                    actor=request.user,
                    institution_id=grant.recipient_id,
                    dataset_code=grant.dataset.code,
                    permission_number=grant.permission_number,
                    name=form.cleaned_data["name"],
                    identifier_field=form.cleaned_data["identifier_field"],
                    conditions=conditions,
                )
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("The record set was created."))
                return redirect("monitoring:detail", pk=record_set.pk)
    return render(
        request, "monitoring/recordset_create.html", {"grant": grant, "form": form, "rows": rows}
    )


def _webhook_url(record_set: RecordSet) -> str | None:
    try:
        return reverse("monitoring:webhook", args=[record_set.pk])
    except NoReverseMatch:  # the webhook pages are optional
        return None


def _detail(
    request: HttpRequest,
    record_set: RecordSet,
    *,
    upload: UploadForm | None = None,
    remove: RemoveForm | None = None,
    upload_error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    starts_with = request.GET.get("q", "")[:255]
    page = selectors.identifiers_page(
        record_set=record_set,
        cursor=request.GET.get("cursor") or None,
        limit=IDENTIFIERS_PER_PAGE,
        starts_with=starts_with,
    )
    schema = dataset_schema_of(record_set.dataset)
    titles = {row.path: row.title for row in schema_rows(schema)}
    context = {
        "record_set": record_set,
        "grant": record_set.grant,
        "field_title": titles.get(record_set.identifier_field, record_set.identifier_field),
        "conditions": [describe_condition(c, titles) for c in record_set.conditions],
        "identifiers": page.values,
        "next_cursor": page.next_cursor,
        "q": starts_with,
        "first_page": not request.GET.get("cursor"),
        "upload": upload or UploadForm(),
        "remove": remove or RemoveForm(),
        "upload_error": upload_error,
        "upload_problems": upload_error.errors if upload_error else [],
        "upload_invalid": (upload_error.extra.get("invalid_count") if upload_error else 0),
        "webhook_url": _webhook_url(record_set),
    }
    return render(request, "monitoring/recordset_detail.html", context, status=status)


@requires(rules.can_view_granted_data)
def record_set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.record_set_get(actor=request.user, pk=pk))


@requires(rules.can_view_granted_data)
@require_POST
def record_set_upload(request: HttpRequest, pk: int) -> HttpResponse:
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail(request, record_set, upload=form, status=422)
    try:
        result = services.record_set_identifiers_import_csv(
            actor=request.user,
            record_set=record_set,
            uploaded_file=form.cleaned_data["file"],
            mode=form.cleaned_data["mode"],
        )
    except DomainError as exc:
        return _detail(request, record_set, upload=form, upload_error=exc, status=422)
    messages.success(
        request,
        _("%(lines)s lines read: %(added)s values added, %(removed)s removed; %(count)s watched.")
        % {
            "lines": result.lines,
            "added": result.added,
            "removed": result.removed,
            "count": result.count,
        },
    )
    return redirect("monitoring:detail", pk=pk)


@requires(rules.can_view_granted_data)
@require_POST
def record_set_remove(request: HttpRequest, pk: int) -> HttpResponse:
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    form = RemoveForm(request.POST)
    if form.is_valid():
        try:
            result = services.record_set_identifiers_change(
                actor=request.user, record_set=record_set, remove=form.value_list()
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(removed)s values are no longer watched; %(count)s watched.")
                % {"removed": result.removed, "count": result.count},
            )
            return redirect("monitoring:detail", pk=pk)
    return _detail(request, record_set, remove=form, status=422)


@requires(rules.can_view_granted_data)
def record_set_delete(request: HttpRequest, pk: int) -> HttpResponse:
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    if request.method == "POST":
        services.record_set_delete(actor=request.user, record_set=record_set)
        messages.success(request, _("The record set was deleted."))
        return redirect("monitoring:list")
    return render(request, "monitoring/recordset_delete.html", {"record_set": record_set})
