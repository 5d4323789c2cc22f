"""Portal pages of the catalogue: the public catalogue and dataset documentation, and the
provider pages that define and manage datasets. Views parse input and call one service or
selector; object-level permission is decided there (``NotFound`` → 404, ``PermissionDenied`` →
403)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError, PermissionDenied
from dagr.core.forms import form_add_domain_error
from dagr.knowledge.selectors import articles_for_topics
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, public, requires

from . import selectors, services
from .api_guide import api_guide
from .forms import DatasetCreateForm, DatasetMetadataForm, SchemaEditForm
from .models import Dataset

STATUS_ACTIONS: dict[str, str] = {
    Dataset.Status.PRODUCTION: "promote_dataset",
    Dataset.Status.RETIRED: "retire_dataset",
    Dataset.Status.SANDBOX: "reopen_dataset",
}


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


# --- public pages ------------------------------------------------------------------------------


IDENTIFIER_KINDS = tuple(selectors.IDENTIFIER_LABELS)
# the help articles the dataset page offers (knowledge's articles_for_topics)
DATASET_TOPICS = ("dataset", "identifiers", "access", "api", "change-feed")


def _filters(request: HttpRequest) -> selectors.CatalogueFilters:
    status = request.GET.get("status", "")
    kind = request.GET.get("identifier", "")
    return selectors.CatalogueFilters(
        search=request.GET.get("q", "")[:100],
        provider_id=_int_or_none(request.GET.get("provider")),
        status=status if status in selectors.CATALOGUE_STATUSES else "",
        has_test_data=request.GET.get("test_data") == "1",
        identifier_kind=kind if kind in IDENTIFIER_KINDS else "",
    )


@public
def index(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    entries = selectors.catalogue_search(actor=request.user, filters=filters)
    context = {
        "groups": selectors.catalogue_groups(entries),
        "count": len(entries),
        "providers": selectors.catalogue_providers(actor=request.user),
        "filters": filters,
        "search": filters.search,
        "provider_id": filters.provider_id,
        "statuses": [(value, label) for value, label in Dataset.Status.choices],
        "identifier_kinds": list(selectors.IDENTIFIER_LABELS.items()),
    }
    return render(request, "catalog/index.html", context)


@public
def dataset(request: HttpRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_get_visible(actor=request.user, code=code)
    schema = selectors.dataset_schema(ds)
    test_data_code = selectors.test_data_code_for(ds)
    topics = [*DATASET_TOPICS, "test-data"] if test_data_code else list(DATASET_TOPICS)
    context = {
        "dataset": ds,
        "schema": schema,
        "rows": selectors.schema_rows(schema) if schema else [],
        "identifiers": selectors.schema_identifiers(schema) if schema else [],
        "guide": (
            api_guide(code=ds.code, schema=schema, base_url=request.build_absolute_uri("/")[:-1])
            if schema
            else None
        ),
        "test_data_code": test_data_code,
        "is_test_dataset": test_data_code and test_data_code != ds.code,
        "articles": articles_for_topics(topics, request.user)[:5],
    }
    return render(request, "catalog/dataset.html", context)


@public
def dataset_schema_yaml(request: HttpRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_get_visible(actor=request.user, code=code)
    version = selectors.schema_version_get(
        dataset=ds, number=_int_or_none(request.GET.get("version"))
    )
    response = HttpResponse(
        services.schema_to_yaml(version.definition), content_type="application/yaml; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{ds.code}-v{version.number}.yaml"'
    return response


# --- provider pages ----------------------------------------------------------------------------


def example_schema_yaml() -> str:
    """A documented example schema (comments in the current language)."""
    return render_to_string("catalog/example_schema.yaml.txt")


@requires(rules.can_define_datasets)
def dataset_create(request: ActorRequest) -> HttpResponse:
    if request.method == "POST":
        form = DatasetCreateForm(request.POST, request.FILES, actor=request.user)
        if form.is_valid():
            try:
                ds = services.dataset_create(
                    actor=request.user,
                    **{k: v for k, v in form.cleaned_data.items() if not k.startswith("schema_")},
                )
            except DomainError as exc:
                form_add_domain_error(form, exc, at_fields=True)
            else:
                messages.success(request, _("The dataset was defined (schema version 1)."))
                return redirect("catalog:dataset_manage", ds.code)
        schema_text = form.schema_text or request.POST.get("schema_yaml", "")
        status = 422
    else:
        form = DatasetCreateForm(actor=request.user)
        schema_text, status = example_schema_yaml(), 200
    context = {
        "form": form,
        "schema_text": schema_text,
        "schema_errors": getattr(form, "schema_errors", []),
    }
    return render(request, "catalog/dataset_create.html", context, status=status)


def _manage_context(request: HttpRequest, ds: Dataset, **extra: Any) -> dict[str, Any]:
    schema = selectors.dataset_schema(ds)
    current_yaml = services.schema_to_yaml(schema) if schema else ""
    context: dict[str, Any] = {
        "dataset": ds,
        "schema": schema,
        "rows": selectors.schema_rows(schema) if schema else [],
        "metadata_form": DatasetMetadataForm.for_dataset(ds),
        "schema_form": SchemaEditForm(initial={"schema_yaml": current_yaml}),
        "schema_text": current_yaml,
        "schema_errors": [],
        "history": selectors.schema_history(dataset=ds),
        "status_actions": [
            (status, Dataset.Status(status).label, STATUS_ACTIONS[status])
            for status in services.dataset_status_targets(ds)
        ],
    }
    context.update(extra)
    return context


@authenticated
def dataset_manage(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_get_editable(actor=request.user, code=code)
    return render(request, "catalog/dataset_manage.html", _manage_context(request, ds))


@authenticated
@require_POST
def dataset_metadata(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_get_editable(actor=request.user, code=code)
    form = DatasetMetadataForm(request.POST)
    if form.is_valid():
        try:
            services.dataset_update(actor=request.user, dataset=ds, **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc, at_fields=True)
        else:
            messages.success(request, _("The dataset description was saved."))
            return redirect("catalog:dataset_manage", ds.code)
    context = _manage_context(request, ds, metadata_form=form)
    return render(request, "catalog/dataset_manage.html", context, status=422)


@authenticated
@require_POST
def dataset_schema(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_get_editable(actor=request.user, code=code)
    form = SchemaEditForm(request.POST, request.FILES)
    extra: dict[str, Any] = {"schema_form": form}
    if form.is_valid() and form.parsed_schema is not None:
        if request.POST.get("action") == "preview":
            preview = selectors.schema_change_preview(dataset=ds, schema=form.parsed_schema)
            extra |= {"preview": preview, "schema_text": form.schema_text}
            return render(
                request, "catalog/dataset_manage.html", _manage_context(request, ds, **extra)
            )
        previous = ds.schema.number if ds.schema else 0
        try:
            version = services.dataset_schema_update(
                actor=request.user,
                dataset=ds,
                schema=form.cleaned_data["schema"],
                note=form.cleaned_data.get("note", ""),
            )
        except DomainError as exc:
            extra["refusal"] = exc
        else:
            if version.number == previous:
                messages.info(request, _("The schema is unchanged; no new version was created."))
            else:
                messages.success(
                    request, _("Schema version %(number)s was saved.") % {"number": version.number}
                )
            return redirect("catalog:dataset_manage", ds.code)
    extra |= {"schema_text": form.schema_text, "schema_errors": form.schema_errors}
    context = _manage_context(request, ds, **extra)
    return render(request, "catalog/dataset_manage.html", context, status=422)


@authenticated
@require_http_methods(["GET", "POST"])
def dataset_status(request: ActorRequest, code: str) -> HttpResponse:
    ds = selectors.dataset_get_editable(actor=request.user, code=code)
    status = request.POST.get("status", "") if request.method == "POST" else ""
    if request.method == "GET" or (status == Dataset.Status.RETIRED and not confirmed(request)):
        return _retire_confirmation(request, ds)
    try:
        services.dataset_set_status(
            actor=request.user, dataset=ds, status=request.POST.get("status", "")
        )
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("The dataset status is now “%(status)s”.") % {"status": ds.get_status_display()},
        )
    return redirect("catalog:dataset_manage", ds.code)


def _retire_confirmation(request: ActorRequest, ds: Dataset) -> HttpResponse:
    """Retiring is the one status change that asks first (a GET here shows the question)."""
    if not rules.can_set_dataset_status(request.user, ds, Dataset.Status.RETIRED):
        return redirect("catalog:dataset_manage", ds.code)
    return confirmation_page(
        request,
        title=_("Retire the dataset “%(title)s”?") % {"title": ds.title},
        consequences=[
            _("The dataset receives no new data: loads and uploads are refused."),
            _("It stays documented in the catalogue, marked as retired."),
        ],
        undo=_("Only a portal administrator can reopen it, and only in the sandbox."),
        button=_("Retire the dataset"),
        cancel_url=reverse("catalog:dataset_manage", args=[ds.code]),
        fields=[("status", Dataset.Status.RETIRED)],
    )
