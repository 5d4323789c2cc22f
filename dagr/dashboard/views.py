"""The dashboard pages (DU-5): requests, datasets, recipients. Each reads one selector; who sees
what is decided there (``dagr.permissions.rules``). Filters travel in the query string (no
personal data); ``?table=<name>`` downloads one chart's table as CSV."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from dagr.core.errors import NotFound
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, public, requires

from . import charts, presenters, selectors
from . import metrics as metrics_module
from .forms import StatsFilterForm


def filters_from(request: HttpRequest) -> selectors.Filters:
    """The filters of a GET request; anything unknown is checked (and refused) by the selector."""
    get = request.GET
    recipient = get.get("recipient", "")
    try:
        recipient_id = int(recipient) if recipient else None
    except ValueError:
        raise NotFound(code="recipient_not_found") from None
    return selectors.Filters(
        period=get.get("period") or selectors.DEFAULT_PERIOD,
        dataset=get.get("dataset", ""),
        recipient=recipient_id,
        operation=get.get("operation", ""),
    )


@requires(rules.can_view_statistics)
@never_cache
def requests(request: ActorRequest) -> HttpResponseBase:
    filters = filters_from(request)
    stats = selectors.request_stats(actor=request.user, filters=filters)
    tables = presenters.tables(stats)
    table = request.GET.get("table")
    if table:
        if table not in tables:
            raise NotFound(code="table_not_found")
        return presenters.csv_response(tables[table], name=filters.dataset or filters.period)
    choices = selectors.filter_choices(request.user)
    form = StatsFilterForm(request.GET or None, choices=choices)
    every = max(1, len(stats.series) // 12)
    chart_svgs = {
        "series": charts.columns("c-series", tables["series"].title, stats.series, every),
        **{
            key: charts.bars(f"c-{key}", tables[key].title, tables[key].rows)
            for key in ("datasets", "recipients", "operations", "outcomes")
        },
    }
    query = request.GET.copy()
    query.pop("table", None)
    context = {
        "stats": stats,
        "form": form,
        "tables": tables,
        "charts": chart_svgs,
        "query": query.urlencode(),
        "lag": selectors.rollup_lag_seconds(),
    }
    return render(request, "dashboard/requests.html", context)


@requires(rules.can_view_statistics)
@never_cache
def datasets(request: ActorRequest) -> HttpResponseBase:
    rows = selectors.datasets_status(actor=request.user)
    return render(request, "dashboard/datasets.html", {"rows": rows, "now": timezone.now()})


@requires(rules.can_view_statistics)
@never_cache
def recipients(request: ActorRequest) -> HttpResponseBase:
    rows = selectors.recipients_status(actor=request.user)
    return render(request, "dashboard/recipients.html", {"rows": rows})


@public
@never_cache
def metrics(request: HttpRequest) -> HttpResponseBase:
    """Prometheus text format, for monitoring systems (``rules.can_read_metrics``): 401 with a
    Bearer challenge from outside the configured networks without the token, 403 with a wrong
    one."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not rules.can_read_metrics(request.META.get("REMOTE_ADDR", ""), token):
        status = 403 if token else 401
        response = HttpResponse(
            "Forbidden\n" if token else "Unauthorized\n", status=status, content_type="text/plain"
        )
        if not token:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_module.exposition(), content_type=metrics_module.CONTENT_TYPE)
