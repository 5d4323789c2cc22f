"""The data viewer (DU-10): a recipient representative looks records up and browses exactly what
their institution's grants allow. Every answer comes from the same service functions as the API
(``services``), audited with the user's id."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from dagr.core.errors import DomainError
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, requires

from . import presentation, selectors, services
from .datasets import dataset_for_retrieval
from .forms import BrowseForm, LookupForm

PAGE_SIZE = 25


@requires(rules.can_view_granted_data)
def viewer_index(request: ActorRequest) -> HttpResponse:
    return render(
        request, "retrieval/index.html", {"grants": selectors.viewer_grants(actor=request.user)}
    )


def _caller(request: ActorRequest, institution_id: int) -> services.Caller:
    user = request.user
    return services.Caller(institution_id=institution_id, user_id=user.pk, label=user.email)


@require_http_methods(["GET", "POST"])
@requires(rules.can_view_granted_data)
def viewer_grant(request: ActorRequest, pk: int) -> HttpResponse:
    grant = selectors.viewer_grant_get(actor=request.user, pk=pk)
    dataset = dataset_for_retrieval(grant.dataset.code)
    context = presentation.viewer_context(dataset, grant)
    # Looked up and browsed by POST only: personal codes never travel in a URL (history, logs).
    data = request.POST if request.method == "POST" else None
    mode = data.get("mode", "") if data is not None else ""
    lookup = LookupForm(data if mode == "lookup" else None, identifiers=context["identifiers"])
    browse = BrowseForm(data if mode == "browse" else None, filterable=context["filterable"])
    common: dict[str, Any] = {
        "caller": _caller(request, grant.recipient_id),
        "dataset_code": dataset.code,
        "permission_number": grant.permission_number,
    }
    result, error = None, None
    try:
        if mode == "lookup" and lookup.is_valid():
            result = services.record_get(
                **common, field=lookup.cleaned_data["field"], value=lookup.cleaned_data["value"]
            )
        elif mode == "browse" and browse.is_valid():
            result = services.records_search(
                **common,
                filters=browse.filters(),
                cursor=data.get("cursor") or None if data is not None else None,
                limit=PAGE_SIZE,
            )
    except DomainError as exc:
        error = exc
    context.update(
        lookup=lookup,
        browse=browse,
        mode=mode,
        result=result,
        error=error,
        rows=presentation.table(result.records, context["columns"], dataset) if result else [],
        next_page=presentation.next_page(data, result) if data is not None else [],
    )
    return render(request, "retrieval/grant.html", context)
