"""Portal pages of the CKAN sync (data provider representatives of the institution, and
administrators): the overview, an institution's portal settings (the API token masked: never
shown again, empty keeps it), and a dataset's publication (publish/update, withdraw, status,
the portal's field errors next to the field, the log)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, requires

from . import selectors, services
from .forms import PortalConfigForm, PublishForm
from .mapping import package_name


def _form_errors(form: PortalConfigForm | PublishForm, exc: DomainError) -> None:
    placed = False
    for error in exc.errors:
        location = str(error.get("location", ""))
        if location in form.fields:
            form.add_error(location, str(error.get("message", exc.message)))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


@requires(rules.can_use_open_data_portal)
def overview(request: ActorRequest) -> HttpResponse:
    rows = selectors.overview(request.user)
    return render(request, "ckan/overview.html", {"rows": rows})


@requires(rules.can_use_open_data_portal)
def portal_settings(request: ActorRequest, pk: int) -> HttpResponse:
    institution = selectors.institution_for_settings(actor=request.user, pk=pk)
    config = selectors.portal_config(institution)
    initial = {"base_url": config.base_url, "organization": config.organization} if config else {}
    form = PortalConfigForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_config_save(
                actor=request.user, institution=institution, **form.cleaned_data
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The open data portal settings were saved."))
            return redirect("ckan:settings", pk=institution.pk)
    context = {"institution": institution, "config": config, "form": form}
    return render(request, "ckan/settings.html", context)


@requires(rules.can_use_open_data_portal)
def publication(request: ActorRequest, code: str) -> HttpResponse:
    dataset = selectors.dataset_for_publishing(actor=request.user, code=code)
    view = selectors.publication_view(dataset)
    name = view.publication.package_name if view.publication else package_name(code)
    form = PublishForm(request.POST or None, initial={"package_name": name})
    if request.method == "POST" and form.is_valid():
        try:
            services.dataset_publish(actor=request.user, dataset=dataset, **form.cleaned_data)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("The dataset will be sent to the open data portal shortly.")
            )
            return redirect("ckan:publication", code=code)
    # the portal's verdict on the name, shown under the name field until it is sent again
    name_errors = list(form.errors.get("package_name", [])) or view.name_problems
    context = {"view": view, "form": form, "name_errors": name_errors}
    return render(request, "ckan/publication.html", context)


@requires(rules.can_use_open_data_portal)
def withdraw(request: ActorRequest, code: str) -> HttpResponse:
    dataset = selectors.dataset_for_publishing(actor=request.user, code=code)
    back = reverse("ckan:publication", kwargs={"code": code})
    if not confirmed(request):
        return confirmation_page(
            request,
            title=_("Withdraw %(code)s from the open data portal?") % {"code": code},
            consequences=[
                _("The dataset's package in the open data portal is marked deleted."),
                _("Automatic updates of the package stop."),
            ],
            undo=_(
                "A data provider representative can publish the dataset again; the package is "
                "restored."
            ),
            button=_("Withdraw from the portal"),
            cancel_url=back,
        )
    try:
        services.dataset_unpublish(actor=request.user, dataset=dataset)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("The dataset will be withdrawn from the open data portal shortly.")
        )
    return redirect(back)
