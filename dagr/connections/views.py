from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated

from . import selectors, services
from .forms import CertificateForm, ConnectionCreateForm


@authenticated
def connection_list(request: ActorRequest) -> HttpResponse:
    return render(
        request,
        "connections/list.html",
        {
            "connections": selectors.connection_list_for(actor=request.user),
            "can_create": rules.connection_institutions(request.user).exists(),
        },
    )


# Service error codes → the form field they are about (the rest go on top of the form).
_ERROR_FIELDS = {
    "forbidden": "kind",
    "not_provider": "kind",
    "not_recipient": "kind",
    "invalid_token_lifetime": "token_lifetime_s",
}


@authenticated
def connection_create(request: ActorRequest) -> HttpResponse:
    institutions = rules.connection_institutions(request.user)
    form = ConnectionCreateForm(
        request.POST or None,
        request.FILES or None,
        institutions=institutions,
        kinds=rules.connection_kinds(request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection, secret = services.connection_create(
                actor=request.user,
                institution=data["institution"],
                name=data["name"],
                kind=data["kind"],
                auth_method=data["auth_method"],
                certificate_pem=data["certificate"],
                token_lifetime_s=data["token_lifetime_s"],
            )
        except DomainError as exc:  # shown at the field it is about
            form.add_error(_ERROR_FIELDS.get(exc.code), str(exc.message))
        else:
            return render(
                request,
                "connections/created.html",
                {"connection": connection, "secret": secret},
            )
    return render(request, "connections/create.html", {"form": form})


@authenticated
def connection_detail(request: ActorRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get_for(actor=request.user, pk=pk)
    return render(
        request,
        "connections/detail.html",
        {"connection": connection, "certificate_form": CertificateForm()},
    )


@authenticated
@require_POST
def connection_rotate(request: ActorRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get_for(actor=request.user, pk=pk)
    try:
        secret = services.connection_rotate_secret(actor=request.user, connection=connection)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("connections:detail", pk=pk)
    return render(request, "connections/created.html", {"connection": connection, "secret": secret})


@authenticated
@require_POST
def connection_certificate(request: ActorRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get_for(actor=request.user, pk=pk)
    form = CertificateForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.connection_set_certificate(
                actor=request.user,
                connection=connection,
                certificate_pem=form.cleaned_data["certificate"],
            )
        except DomainError as exc:
            form.add_error("certificate", str(exc.message))
        else:
            messages.success(request, _("The certificate was replaced."))
            return redirect("connections:detail", pk=pk)
    return render(
        request, "connections/detail.html", {"connection": connection, "certificate_form": form}
    )


@authenticated
@require_http_methods(["GET", "POST"])
def connection_revoke(request: ActorRequest, pk: int) -> HttpResponse:
    connection = selectors.connection_get_for(actor=request.user, pk=pk)
    if not confirmed(request):
        return confirmation_page(
            request,
            title=_("Revoke the connection “%(name)s”?") % {"name": connection.name},
            consequences=[
                _("The connection gets no new tokens, and the tokens already issued stop working."),
                _("The systems using it lose access to DAGR at once."),
            ],
            undo=_(
                "It cannot be undone: to connect again, create a new connection and configure "
                "the systems with its new credentials."
            ),
            button=_("Revoke this connection"),
            cancel_url=reverse("connections:detail", args=[connection.pk]),
        )
    services.connection_revoke(actor=request.user, connection=connection)
    messages.success(request, _("The connection was revoked; its tokens no longer work."))
    return redirect("connections:detail", pk=pk)
