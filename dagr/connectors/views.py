"""Connector pages: the list (administrators: all, and the failing ones), create and edit
(secrets never shown again), the dry run table, "run now", the run history, a run's page with
its log (live while running) and the log as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dagr.core.errors import DomainError
from dagr.core.tabular import csv_stream
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, requires

from . import selectors, services
from .forms import EXAMPLE, ConnectorForm, config_text
from .models import Run

LOG_COLUMNS = ["time", "level", "message", "source_row"]


@requires(rules.can_work_with_connectors)
def connector_list(request: ActorRequest) -> HttpResponse:
    connectors = list(selectors.connectors_visible(request.user))
    failing = [c for c in connectors if getattr(c, "last_status", None) == Run.Status.FAILED]
    return render(request, "connectors/list.html", {"connectors": connectors, "failing": failing})


def _form_errors(form: ConnectorForm, exc: DomainError) -> None:
    form.add_error(None, str(exc.message))
    for error in exc.errors:
        form.add_error(None, f"{error.get('field', '')}: {error.get('message', '')}")


@requires(rules.can_work_with_connectors)
def connector_create(request: ActorRequest) -> HttpResponse:
    datasets = selectors.datasets_for_connectors(request.user)
    form = ConnectorForm(
        request.POST or None, datasets=datasets, secret_names=[], initial={"config": EXAMPLE}
    )
    if request.method == "POST" and form.is_valid():
        try:
            connector = services.connector_create(
                actor=request.user,
                dataset=form.cleaned_data["dataset"],
                name=form.cleaned_data["name"],
                config=form.cleaned_data["config"],
                secrets=form.secrets(),
                runner=form.cleaned_data["runner"],
                enabled=form.cleaned_data["enabled"],
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The connector is saved."))
            return redirect("connectors:detail", pk=connector.pk)
    return render(request, "connectors/form.html", {"form": form, "connector": None})


@authenticated
def connector_edit(request: ActorRequest, pk: int) -> HttpResponse:
    connector = selectors.connector_get(request.user, pk)
    initial = {
        "name": connector.name,
        "dataset": connector.dataset,
        "runner": connector.runner,
        "enabled": connector.enabled,
        "config": config_text(connector.config),
    }
    form = ConnectorForm(
        request.POST or None,
        datasets=selectors.datasets_for_connectors(request.user).filter(pk=connector.dataset_id),
        secret_names=list(connector.secret_names),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.connector_update(
                actor=request.user,
                connector=connector,
                name=form.cleaned_data["name"],
                config=form.cleaned_data["config"],
                secrets=form.secrets(),
                runner=form.cleaned_data["runner"],
                enabled=form.cleaned_data["enabled"],
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The connector is saved."))
            return redirect("connectors:detail", pk=connector.pk)
    return render(request, "connectors/form.html", {"form": form, "connector": connector})


@authenticated
def connector_detail(request: ActorRequest, pk: int) -> HttpResponse:
    connector = selectors.connector_get(request.user, pk)
    context: dict[str, Any] = {
        "connector": connector,
        "config_text": config_text(connector.config),
        "runs": selectors.run_list(connector),
        "state": connector.state.state if hasattr(connector, "state") else {},
    }
    return render(request, "connectors/detail.html", context)


@authenticated
def connector_delete(request: ActorRequest, pk: int) -> HttpResponse:
    """A confirmation page; the POST deletes the connector with its history."""
    connector = selectors.connector_get(request.user, pk)
    if not rules.can_delete_connector(request.user, connector):
        raise PermissionDenied
    if request.method == "POST":
        try:
            services.connector_delete(actor=request.user, connector=connector)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("connectors:detail", pk=pk)
        messages.success(request, _("The connector is deleted."))
        return redirect("connectors:list")
    return render(
        request,
        "connectors/delete.html",
        {"connector": connector, "runs": connector.runs.count(), "here": _("Delete")},
    )


@authenticated
def run_proposal(request: ActorRequest, pk: int, run_pk: int) -> HttpResponse:
    """The schema change a run proposed: choose the new fields to add to the dataset."""
    run = selectors.run_get(request.user, pk, run_pk)
    connector = run.connector
    if not rules.can_accept_connector_proposal(request.user, connector):
        raise PermissionDenied
    proposal = services.proposal_open(run)
    if request.method == "POST":
        try:
            version = services.proposal_accept(
                actor=request.user, run=run, columns=request.POST.getlist("column")
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request,
                _("The fields are added to the dataset (schema version %(n)d) and mapped.")
                % {"n": version.number},
            )
            return redirect("connectors:detail", pk=pk)
    return render(
        request,
        "connectors/proposal.html",
        {"connector": connector, "the_run": run, "proposal": proposal, "here": _("Schema change")},
    )


@authenticated
@require_POST
def connector_dry_run(request: ActorRequest, pk: int) -> HttpResponse:
    connector = selectors.connector_get(request.user, pk)
    try:
        result = services.connector_dry_run(actor=request.user, connector=connector)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("connectors:detail", pk=pk)
    columns: list[str] = []
    for row in result.rows:
        columns += [c for c in row.row if c not in columns]
    return render(
        request,
        "connectors/dry_run.html",
        {"connector": connector, "result": result, "columns": columns},
    )


@authenticated
@require_POST
def connector_run_now(request: ActorRequest, pk: int) -> HttpResponse:
    connector = selectors.connector_get(request.user, pk)
    raw = request.POST.get("confirm_deletions", "").strip()
    confirm = int(raw) if raw.isdigit() else None
    try:
        services.run_queue(actor=request.user, connector=connector, confirm_deletions=confirm)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The run is queued; it appears in the history when it starts."))
    return redirect("connectors:detail", pk=pk)


@authenticated
def run_detail(request: ActorRequest, pk: int, run_pk: int) -> HttpResponse:
    run = selectors.run_get(request.user, pk, run_pk)
    context = {
        "connector": run.connector,
        "run": run,
        "lines": selectors.run_lines(run, limit=1000),
        "running": run.status == Run.Status.RUNNING,
        "proposal_open": services.proposal_open(run),
        "error_text": selectors.run_error_text(run),
        "can_accept": rules.can_accept_connector_proposal(request.user, run.connector),
    }
    return render(request, "connectors/run.html", context)


@authenticated
def run_progress(request: ActorRequest, pk: int, run_pk: int) -> JsonResponse:
    run = selectors.run_get(request.user, pk, run_pk)
    after = (
        int(request.GET.get("after", "0") or 0) if request.GET.get("after", "0").isdigit() else 0
    )
    data = selectors.run_progress(run)
    data["lines"] = [
        {
            "id": line.pk,
            "at": line.at.strftime("%H:%M:%S"),
            "level": line.level,
            "message": line.text,
        }
        for line in selectors.run_lines(run, after=after, limit=200)
    ]
    return JsonResponse(data)


@authenticated
def run_log_csv(request: ActorRequest, pk: int, run_pk: int) -> StreamingHttpResponse:
    run = selectors.run_get(request.user, pk, run_pk)
    import json

    language = translation.get_language()

    def rows() -> Iterator[dict[str, str]]:
        # streamed after the view returned: the lines are rendered in the request's language
        with translation.override(language):
            for line in selectors.run_lines_all(run):
                yield {
                    "time": line.at.isoformat(),
                    "level": line.level,
                    "message": line.text,
                    "source_row": json.dumps(line.row, ensure_ascii=False) if line.row else "",
                }

    response = StreamingHttpResponse(
        csv_stream(LOG_COLUMNS, rows()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="connector-{pk}-run-{run_pk}.csv"'
    return response
