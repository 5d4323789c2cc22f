"""Portal pages of access grants: recipients request grants and follow them; providers decide.
Views parse input and call one service or selector; permission is decided there
(``NotFound`` → 404, ``PermissionDenied`` → 403)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError, PermissionDenied
from dagr.core.forms import form_add_domain_error
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, requires

from . import selectors, services
from .conditions import OPERATOR_LABELS
from .forms import (
    GrantApproveForm,
    GrantRequestForm,
    NoteForm,
    condition_rows,
    conditions_from_rows,
)
from .models import Grant


@authenticated
def grant_list(request: ActorRequest) -> HttpResponse:
    user = request.user
    represents = rules.grant_recipient_institution_ids(user)
    context = {
        "own": selectors.grant_list_for_recipient(actor=user) if represents else None,
        "requests": (
            selectors.grant_list_for_provider(actor=user) if rules.can_review_grants(user) else None
        ),
        "can_request": rules.can_request_grants(user),
    }
    return render(request, "grants/list.html", context)


@requires(rules.can_request_grants)
def grant_request(request: ActorRequest) -> HttpResponse:
    code = request.GET.get("dataset", "")[:64]
    if not code:
        datasets = selectors.requestable_datasets(actor=request.user)
        return render(request, "grants/choose_dataset.html", {"datasets": datasets})
    dataset = selectors.requestable_dataset_get(actor=request.user, code=code)
    schema = selectors.dataset_schema_of(dataset)
    data = request.POST if request.method == "POST" else None
    form = GrantRequestForm(
        data, schema=schema, institutions=rules.grant_request_institutions(request.user)
    )
    rows = condition_rows(data, schema)
    if data is not None and form.is_valid():
        conditions = conditions_from_rows(rows)
        if conditions is not None:
            try:
                grant = services.grant_request(
                    actor=request.user,
                    recipient=form.cleaned_data["recipient"],
                    dataset=dataset,
                    fields=form.cleaned_data["fields_"],
                    conditions=conditions,
                    legal_basis=form.cleaned_data["legal_basis"],
                    purpose=form.cleaned_data["purpose"],
                )
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                messages.success(
                    request, _("Your request was sent to the provider of the dataset.")
                )
                return redirect("grants:detail", pk=grant.pk)
    return render(
        request,
        "grants/request.html",
        {"dataset": dataset, "form": form, "rows": rows, "operators": OPERATOR_LABELS},
    )


@authenticated
def grant_detail(request: ActorRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_get_for(actor=request.user, pk=pk)
    return render(request, "grants/detail.html", selectors.grant_detail_context(grant=grant))


@authenticated
def grant_approve(request: ActorRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_get_for(actor=request.user, pk=pk)
    if not rules.can_decide_grant(request.user, grant):
        raise DjangoPermissionDenied
    if grant.status != Grant.Status.REQUESTED:
        messages.error(request, _("This request has already been decided."))
        return redirect("grants:detail", pk=pk)
    schema = selectors.dataset_schema_of(grant.dataset)
    data = request.POST if request.method == "POST" else None
    form = GrantApproveForm(data, schema=schema, requested=grant.requested_fields)
    rows = condition_rows(data, schema)
    if data is not None and form.is_valid():
        extra = conditions_from_rows(rows)
        if extra is not None:
            d = form.cleaned_data
            try:
                services.grant_approve(
                    actor=request.user,
                    grant=grant,
                    permission_number=d["permission_number"],
                    fields=d["fields_"],
                    conditions=[*grant.requested_conditions, *extra],
                    valid_from=d["valid_from"],
                    valid_until=d["valid_until"],
                    quota=d["quota"],
                    note=d["note"],
                )
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                messages.success(request, _("The access grant was approved."))
                return redirect("grants:detail", pk=pk)
    context = selectors.grant_detail_context(grant=grant)
    context.update({"form": form, "rows": rows})
    return render(request, "grants/approve.html", context)


@authenticated
@require_POST
def grant_reject(request: ActorRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_get_for(actor=request.user, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the rejection."))
        return redirect("grants:detail", pk=pk)
    try:
        services.grant_reject(actor=request.user, grant=grant, note=form.cleaned_data["note"])
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The request was rejected."))
    return redirect("grants:detail", pk=pk)


@authenticated
@require_http_methods(["GET", "POST"])
def grant_revoke(request: ActorRequest, pk: int) -> HttpResponse:
    grant = selectors.grant_get_for(actor=request.user, pk=pk)
    if not confirmed(request):
        return _revoke_confirmation(request, grant)
    try:
        services.grant_revoke(
            actor=request.user, grant=grant, note=request.POST.get("note", "")[:5000]
        )
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The access grant was revoked."))
    return redirect("grants:detail", pk=pk)


def _revoke_confirmation(request: ActorRequest, grant: Grant) -> HttpResponse:
    if not rules.can_revoke_grant(request.user, grant):  # nothing to ask: back to the grant
        return redirect("grants:detail", pk=grant.pk)
    names = {"number": grant.permission_number, "dataset": grant.dataset.title}
    if grant.status == Grant.Status.REQUESTED:
        title = _("Withdraw the request %(number)s for “%(dataset)s”?") % names
        consequences = [_("The request is closed; the provider can no longer approve it.")]
        undo = _("It cannot be reopened, but you can file a new request.")
        button = _("Withdraw")
    else:
        title = _("Revoke the access grant %(number)s for “%(dataset)s”?") % names
        consequences = [
            _("The recipient's systems and users lose access to this dataset's data at once."),
            _("Record sets and change feeds that rely on this grant stop delivering data."),
        ]
        undo = _(
            "It cannot be undone: the recipient has to file a new request and the provider "
            "has to approve it again."
        )
        button = _("Revoke the grant")
    return confirmation_page(
        request,
        title=title,
        consequences=consequences,
        undo=undo,
        button=button,
        cancel_url=reverse("grants:detail", args=[grant.pk]),
        note_label=_("Note (optional)"),
    )
