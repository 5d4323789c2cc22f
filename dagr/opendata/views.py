"""Pages of the open data metadata: a dataset's metadata form (validated as one types, and on
submit without JavaScript), applying a template, publishing; the templates pages; the DCAT-AP
catalogue (``/catalog.ttl|.jsonld|.rdf``) and RDF by content negotiation on a dataset's page.
Views parse input and call one service or selector."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dagr.catalog import views as catalog_views
from dagr.catalog.models import Dataset
from dagr.catalog.selectors import dataset_get_visible
from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError, PermissionDenied, ValidationError
from dagr.core.forms import form_add_domain_error
from dagr.core.tabular import csv_stream
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, public
from dagr.uploads.selectors import current_records

from . import findings, rdfout, selectors, services
from .forms import PAIRS, ApplyTemplateForm, MetadataForm, TemplateForm
from .models import DatasetMetadata

RDF_FORMATS = rdfout.RDF_FORMATS
PER_PAGE = 100


# --- the metadata form -------------------------------------------------------------------------


def _form_context(
    request: HttpRequest, ds: Dataset, meta: DatasetMetadata, form: MetadataForm, **extra: Any
) -> dict[str, Any]:
    if form.is_bound and form.is_valid():
        _graph, report, score = selectors.dataset_preview(
            ds, catalog_values=form.catalog_values(), metadata_values=form.metadata_values()
        )
    else:
        report, score = selectors.dataset_validation(ds), selectors.dataset_quality(ds)
    shown = findings.by_field(report.findings, selectors.dataset_iri(ds))
    return {
        "dataset": ds,
        "meta": meta,
        "form": form,
        "pairs": [(form[a], form[b]) for a, b in PAIRS],
        "shown": shown,
        "general": shown.get(findings.GENERAL, []),
        "report": report,
        "score": score,
        "distributions": selectors.description_of(ds, meta).distributions,
        "apply_form": ApplyTemplateForm(templates=selectors.templates_for(request.user, ds)),
        "iri": selectors.dataset_iri(ds),
        **extra,
    }


@authenticated
def metadata_edit(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_for_metadata(actor=request.user, code=code)
    meta = selectors.metadata_of(ds)
    status = 200
    if request.method == "POST":
        form = MetadataForm(request.POST)
        if form.is_valid():
            try:
                services.metadata_save(
                    actor=request.user,
                    dataset=ds,
                    catalog_values=form.catalog_values(),
                    metadata_values=form.metadata_values(),
                )
            except DomainError as exc:
                form_add_domain_error(form, exc, at_fields=True)
            else:
                messages.success(request, _("The open data description was saved."))
                return redirect("opendata:metadata", ds.code)
        status = 422
    else:
        form = MetadataForm.for_dataset(ds, meta)
    return render(
        request, "opendata/metadata.html", _form_context(request, ds, meta, form), status=status
    )


@authenticated
@require_POST
def metadata_validate(request: ActorRequest, code: str) -> JsonResponse:
    """Validation as you type: the form's values (not saved) → messages per field and score."""
    ds = selectors.dataset_for_metadata(actor=request.user, code=code)
    form = MetadataForm(request.POST)
    if not form.is_valid():
        fields = {
            name: [{"severity": "violation", "text": str(e)} for e in errors]
            for name, errors in form.errors.items()
        }
        return JsonResponse({"valid": False, "fields": fields, "publishable": False})
    _graph, report, score = selectors.dataset_preview(
        ds, catalog_values=form.catalog_values(), metadata_values=form.metadata_values()
    )
    shown = findings.by_field(report.findings, selectors.dataset_iri(ds))
    return JsonResponse(
        {
            "valid": True,
            "publishable": report.conforms,
            "fields": {
                name: [{"severity": s.severity, "text": s.text} for s in items]
                for name, items in shown.items()
            },
            "score": {"total": score.total, "maximum": score.MAXIMUM, "rating": str(score.rating)},
        }
    )


@authenticated
@require_POST
def template_apply(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_for_metadata(actor=request.user, code=code)
    form = ApplyTemplateForm(request.POST, templates=selectors.templates_for(request.user, ds))
    if form.is_valid():
        template = form.cleaned_data["template"]
        services.template_apply(actor=request.user, dataset=ds, template=template)
        messages.success(
            request,
            _("The template “%(name)s” was applied; change any field below.")
            % {"name": template.name},
        )
    else:
        messages.error(request, _("Choose a template."))
    return redirect("opendata:metadata", ds.code)


@authenticated
@require_POST
def publish(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_for_metadata(actor=request.user, code=code)
    try:
        if request.POST.get("action") == "unpublish":
            services.metadata_unpublish(actor=request.user, dataset=ds)
            messages.success(request, _("The dataset was withdrawn from the open data catalogue."))
        else:
            services.metadata_publish(actor=request.user, dataset=ds)
            messages.success(request, _("The dataset is in the open data catalogue."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("opendata:metadata", ds.code)


# --- templates ---------------------------------------------------------------------------------


def _institution_choices(request: ActorRequest) -> list[tuple[str, str]]:
    choices = [(str(i.pk), i.name) for i in rules.provider_institutions(request.user)]
    if rules.can_manage_metadata_templates(request.user, None):
        choices.insert(0, ("", _("Everyone (global template)")))
    return choices


@authenticated
def templates_index(request: ActorRequest) -> HttpResponse:
    institutions = _institution_choices(request)
    if request.method == "POST":
        form = TemplateForm(request.POST)
        owner = request.POST.get("institution", "")
        if form.is_valid() and owner in {pk for pk, _label in institutions}:
            try:
                services.template_create(
                    actor=request.user,
                    institution=rules.provider_institutions(request.user).filter(pk=owner).first()
                    if owner
                    else None,
                    name=form.cleaned_data["name"],
                    **form.described_values(),
                )
            except DomainError as exc:
                form_add_domain_error(form, exc, at_fields=True)
            else:
                messages.success(request, _("The template was saved."))
                return redirect("opendata:templates")
        elif form.is_valid():
            form.add_error(None, _("Choose whose template it is."))
        status = 422
    else:
        form, status = TemplateForm(), 200
    context = {
        "templates": selectors.templates_for(request.user),
        "form": form,
        "institutions": institutions,
        "editable": None,
    }
    return render(request, "opendata/templates.html", context, status=status)


@authenticated
def template_edit(request: ActorRequest, pk: int) -> HttpResponse:
    template = selectors.template_get(actor=request.user, pk=pk)
    if not rules.can_manage_metadata_templates(request.user, template.institution_id):
        raise PermissionDenied(
            _("You may not change this metadata template."), code="metadata_template_denied"
        )
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            try:
                services.template_update(
                    actor=request.user,
                    template=template,
                    name=form.cleaned_data["name"],
                    **form.described_values(),
                )
            except DomainError as exc:
                form_add_domain_error(form, exc, at_fields=True)
            else:
                messages.success(request, _("The template was saved."))
                return redirect("opendata:templates")
        status = 422
    else:
        form = TemplateForm.for_template(template)
    return render(
        request, "opendata/template_edit.html", {"template": template, "form": form}, status=status
    )


@authenticated
def template_delete(request: ActorRequest, pk: int) -> HttpResponse:
    template = selectors.template_get(actor=request.user, pk=pk)
    if not confirmed(request):
        return confirmation_page(
            request,
            title=_("Delete the template “%(name)s”?") % {"name": template.name},
            consequences=[
                _("The template is deleted. Datasets it was applied to keep their values.")
            ],
            undo=_("It cannot be undone; a new template can be made."),
            button=_("Delete the template"),
            cancel_url=f"/open-data/templates/{template.pk}/",
        )
    services.template_delete(actor=request.user, template=template)
    messages.success(request, _("The template was deleted."))
    return redirect("opendata:templates")


# --- the catalogue -----------------------------------------------------------------------------


def _rdf_response(body: bytes, fmt: str) -> HttpResponse:
    media_type = RDF_FORMATS[fmt][1]
    response = HttpResponse(body, content_type=f"{media_type}; charset=utf-8")
    response["Vary"] = "Accept"
    return response


def _modified_since(value: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value) or parse_datetime(f"{value}T00:00:00")
    if parsed is None:
        raise ValidationError(
            _("modified_since must be a date or date-time (ISO 8601)."), code="invalid_parameter"
        )
    return make_aware(parsed) if is_naive(parsed) else parsed


@public
def catalog_rdf(request: HttpRequest, fmt: str) -> HttpResponse:
    """The DCAT-AP catalogue, 100 datasets a page (Hydra ``PartialCollectionView``)."""
    raw_page = request.GET.get("page", "1")
    page = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 10**6 else 1
    since_raw = request.GET.get("modified_since", "")[:40]
    try:
        since = _modified_since(since_raw)
    except ValidationError as exc:
        return HttpResponse(str(exc.message), status=400, content_type="text/plain; charset=utf-8")
    body = selectors.catalog_document(
        fmt=fmt,
        page=page,
        per_page=PER_PAGE,
        modified_since=since,
        base=request.build_absolute_uri(request.path),
        query={"modified_since": since_raw} if since_raw else {},
    )
    return _rdf_response(body, fmt)


def _wanted_rdf(request: HttpRequest) -> str | None:
    """The RDF format the Accept header prefers over HTML, if any."""
    accept = request.headers.get("Accept", "")
    for fmt, (_rdflib, media_type) in RDF_FORMATS.items():
        if media_type in accept and "text/html" not in accept.split(media_type)[0]:
            return fmt
    return None


@public
def dataset_negotiated(request: HttpRequest, code: str) -> HttpResponseBase:
    """``/catalog/<code>/``: the catalogue's HTML page, or the dataset's DCAT-AP graph when the
    Accept header asks for Turtle, JSON-LD or RDF/XML (the dataset IRI dereferences)."""
    fmt = _wanted_rdf(request)
    if fmt is None:
        response = catalog_views.dataset(request, code)
        response["Vary"] = "Accept"
        return response
    ds = dataset_get_visible(actor=request.user, code=code)
    return _rdf_response(selectors.dataset_document(ds, fmt), fmt)


@public
def data_download(request: HttpRequest, code: str) -> StreamingHttpResponse:
    """The open data export (the catalogue's ``export-csv`` distribution): the dataset's current
    records as CSV, streamed, without personal data fields; 404 for any dataset not published as
    open data with public access rights."""
    ds, columns = selectors.open_data_export(actor=request.user, code=code)
    response = StreamingHttpResponse(
        csv_stream(columns, current_records(dataset=ds)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{ds.code}.csv"'
    return response
