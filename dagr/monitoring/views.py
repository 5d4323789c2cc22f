"""Portal pages of record sets (DU-2), for data recipient representatives of the institution:
the list, creating a set over one of the institution's grants, the set's page (watched values
page by page, CSV upload, removal) and deletion. Views parse input and call one service or
selector; which record sets a user may see is decided there (another institution's: 404)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dagr.catalog.selectors import schema_rows
from dagr.core.confirm import confirmed
from dagr.core.errors import DomainError, reraise_access_error
from dagr.core.forms import form_add_domain_error
from dagr.grants.forms import ConditionRowForm, conditions_from_rows
from dagr.grants.models import Grant
from dagr.grants.selectors import dataset_schema_of, describe_condition
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, requires

from . import deliveries, selectors, services
from .forms import (
    RecordSetEditForm,
    RecordSetForm,
    RemoveForm,
    UploadForm,
    record_set_condition_rows,
)
from .models import RecordSet

IDENTIFIERS_PER_PAGE = 50


_ROW_FIELD = {
    "unknown_field": "field",
    "nested_field_not_supported": "field",
    "field_not_granted": "field",
    "unknown_operator": "op",
    "operator_not_allowed": "op",
}


def _definition_errors(
    form: Any, rows: list[ConditionRowForm], used: list[int], exc: DomainError
) -> None:
    """Show a service's errors next to the fields they concern: ``name``, ``identifier_field``,
    ``conditions.<n>`` (the n-th condition given, i.e. the n-th filled row); the rest on top."""
    form.add_error(None, str(exc.message))
    for error in exc.errors[: services.MAX_REPORTED_ERRORS]:
        location, message = str(error.get("location", "")), str(error.get("message", ""))
        if not message:
            continue
        head, _dot, index = location.partition(".")
        if location in form.fields:
            form.add_error(location, message)
        elif head == "conditions" and index.isdigit() and int(index) < len(used):
            row = rows[used[int(index)]]
            row.add_error(_ROW_FIELD.get(str(error.get("code", "")), "value"), message)
        else:
            form.add_error(None, message)


def _filled_rows(rows: list[ConditionRowForm]) -> list[int]:
    """The numbers of the rows that gave a condition (after ``conditions_from_rows``)."""
    return [n for n, row in enumerate(rows) if row.condition() is not None]


@requires(rules.can_view_granted_data)
def record_set_list(request: ActorRequest) -> HttpResponse:
    return render(
        request,
        "monitoring/recordset_list.html",
        {
            "record_sets": selectors.record_sets_of(actor=request.user),
            "can_create": bool(selectors.grants_for_record_sets(actor=request.user)),
        },
    )


@requires(rules.can_view_granted_data)
def record_set_create(request: ActorRequest) -> HttpResponse:
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
                reraise_access_error(exc)
                _definition_errors(form, rows, _filled_rows(rows), exc)
            else:
                messages.success(request, _("The record set was created."))
                return redirect("monitoring:detail", pk=record_set.pk)
    return render(
        request, "monitoring/recordset_create.html", {"grant": grant, "form": form, "rows": rows}
    )


@requires(rules.can_view_granted_data)
def record_set_edit(request: ActorRequest, pk: int) -> HttpResponse:
    """Rename the set and/or change its conditions (``services.record_set_update``). The page
    says beforehand what changed conditions do to the set's feed and webhook."""
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    schema = dataset_schema_of(record_set.dataset)
    granted = list(record_set.grant.fields or [])
    data = request.POST if request.method == "POST" else None
    form = RecordSetEditForm(data, initial={"name": record_set.name})
    rows = record_set_condition_rows(data, schema, granted, conditions=record_set.conditions)
    if data is not None and form.is_valid():
        conditions = conditions_from_rows(rows)
        if conditions is not None:
            before = list(record_set.conditions)
            try:
                services.record_set_update(
                    actor=request.user,
                    record_set=record_set,
                    name=form.cleaned_data["name"],
                    conditions=conditions,
                )
            except DomainError as exc:
                reraise_access_error(exc)
                _definition_errors(form, rows, _filled_rows(rows), exc)
                record_set = selectors.record_set_get(actor=request.user, pk=pk)
            else:
                if record_set.conditions == before:
                    messages.success(request, _("The record set was changed."))
                elif deliveries.subscription_get(actor=request.user, record_set_id=pk):
                    messages.success(
                        request,
                        _("The record set was changed. Its changes start again from the "
                          "beginning: systems reading them with an earlier cursor get 409 "
                          "cursor_outdated, and the webhook sends the set's current records "
                          "again."),
                    )  # fmt: skip
                else:
                    messages.success(
                        request,
                        _("The record set was changed. Its changes start again from the "
                          "beginning: systems reading them with an earlier cursor get 409 "
                          "cursor_outdated."),
                    )  # fmt: skip
                return redirect("monitoring:detail", pk=pk)
    titles = {row.path: row.title for row in schema_rows(schema)}
    context = {
        "record_set": record_set,
        "grant": record_set.grant,
        "form": form,
        "rows": rows,
        "field_title": titles.get(record_set.identifier_field, record_set.identifier_field),
        "subscription": deliveries.subscription_get(actor=request.user, record_set_id=pk),
    }
    status = 422 if data is not None else 200
    return render(request, "monitoring/recordset_edit.html", context, status=status)


def _webhook_url(record_set: RecordSet) -> str | None:
    try:
        return reverse("monitoring:webhook", args=[record_set.pk])
    except NoReverseMatch:  # the webhook pages are optional
        return None


def _detail(
    request: ActorRequest,
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
        "grant_valid": record_set.grant.effective_status() == Grant.Status.APPROVED,
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
        "subscription": deliveries.subscription_get(
            actor=request.user, record_set_id=record_set.pk
        ),
    }
    return render(request, "monitoring/recordset_detail.html", context, status=status)


@requires(rules.can_view_granted_data)
def record_set_detail(request: ActorRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.record_set_get(actor=request.user, pk=pk))


@requires(rules.can_view_granted_data)
@require_POST
def record_set_upload(request: ActorRequest, pk: int) -> HttpResponse:
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
        reraise_access_error(exc)
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
def record_set_remove(request: ActorRequest, pk: int) -> HttpResponse:
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    form = RemoveForm(request.POST)
    if form.is_valid():
        try:
            result = services.record_set_identifiers_change(
                actor=request.user, record_set=record_set, remove=form.value_list()
            )
        except DomainError as exc:
            reraise_access_error(exc)
            form_add_domain_error(form, exc, limit=services.MAX_REPORTED_ERRORS)
        else:
            messages.success(
                request,
                _("%(removed)s values are no longer watched; %(count)s watched.")
                % {"removed": result.removed, "count": result.count},
            )
            return redirect("monitoring:detail", pk=pk)
    return _detail(request, record_set, remove=form, status=422)


@requires(rules.can_view_granted_data)
def record_set_delete(request: ActorRequest, pk: int) -> HttpResponse:
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    if confirmed(request):
        services.record_set_delete(actor=request.user, record_set=record_set)
        messages.success(request, _("The record set was deleted."))
        return redirect("monitoring:list")
    return render(request, "monitoring/recordset_delete.html", {"record_set": record_set})
