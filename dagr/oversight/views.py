"""Portal pages of the data-access audit.

- "Who used my data": a dataset provider's representative (or an administrator) reads the
  access audit of one dataset — period, recipient, identifier; keyset pages; CSV download.
- "Who read this person's data": an administrator enters a personal code or other identifier.

Both forms are sent with POST so an identifier value never appears in a URL (and so never in
web server logs or the browser history).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from dagr.audit import access_selectors as selectors
from dagr.audit.services import who_read_search
from dagr.catalog import selectors as catalog_selectors
from dagr.catalog.models import Dataset
from dagr.core.actors import Actor
from dagr.core.errors import DomainError
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, requires

from . import presenters
from .forms import AccessFilterForm, WhoReadForm

PAGE_SIZE = 50


def _readable_dataset(actor: Actor, code: str) -> Dataset:
    """404 for a dataset the actor may not see, 403 for one whose audit is not theirs."""
    dataset = catalog_selectors.dataset_get_visible(actor=actor, code=code)
    if not rules.can_read_dataset_audit(actor, dataset):
        raise DjangoPermissionDenied
    return dataset


@authenticated
@never_cache
def dataset_access(request: ActorRequest, code: str) -> HttpResponseBase:
    dataset = _readable_dataset(request.user, code)
    form = AccessFilterForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"dataset": dataset, "form": form, "rows": [], "next_cursor": None}
    if form.is_bound and not form.is_valid():
        return render(request, "audit/dataset_access.html", context, status=422)
    filters = {"dataset_ids": [dataset.pk], **(form.filters() if form.is_bound else {})}
    cursor = request.POST.get("cursor", "")
    try:
        if request.POST.get("format") == "csv":
            entries = selectors.access_entries_iter(cursor=cursor, **filters)
            return presenters.csv_response(entries, name=dataset.code)
        page = selectors.access_entries(cursor=cursor, limit=PAGE_SIZE, **filters)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return render(request, "audit/dataset_access.html", context, status=422)
    context.update(
        rows=presenters.entry_rows(page.entries), next_cursor=page.next_cursor, paged=bool(cursor)
    )
    return render(request, "audit/dataset_access.html", context)


@requires(rules.can_answer_who_read)
@never_cache
def who_read(request: ActorRequest) -> HttpResponse:
    form = WhoReadForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form, "searched": False}
    if not form.is_bound or not form.is_valid():
        return render(request, "audit/who_read.html", context, status=422 if form.is_bound else 200)
    identifier, period = form.cleaned_data["identifier"], form.period()
    cursor = request.POST.get("cursor", "")
    try:
        summary = who_read_search(actor=request.user, identifier=identifier, **period)
        page = selectors.access_entries(
            dataset_ids=None,
            identifier=identifier,
            cursor=cursor,
            limit=PAGE_SIZE,
            since=period["since"],
            until=period["until"],
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return render(request, "audit/who_read.html", context, status=422)
    context.update(
        searched=True,
        summary=presenters.summary_rows(summary),
        rows=presenters.entry_rows(page.entries),
        next_cursor=page.next_cursor,
        paged=bool(cursor),
    )
    return render(request, "audit/who_read.html", context)
