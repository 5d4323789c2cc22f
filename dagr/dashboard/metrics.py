"""Operators' metrics: ``/metrics`` in the Prometheus text format (prometheus-client, the
reference client: its text format, histograms and multi-process mode are what Prometheus expects).

- Per process, counted as requests happen: HTTP requests by route and status and their latency
  (``MetricsMiddleware``); audit write failures (``audit_failure``, connected to the audit's
  ``access_write_failed`` signal). Under ``dagr serve`` several granian processes serve requests,
  so ``PROMETHEUS_MULTIPROC_DIR`` is set and every process writes its values to files in that
  directory, which the scrape adds up (prometheus-client's multi-process mode).
- Read from the database at scrape time (the same in every process): data requests by
  operation and outcome and their latency histogram (from the statistics rollups — all-time
  monthly sums, a few hundred rows), rollup lag, the audit subject index lag, worker queue depth
  and the age of the oldest due task, dataset freshness, webhook backlog.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from dagr.audit.subjects import index_lag_seconds

from .models import BUCKET_BOUNDS_MS, BUCKET_FIELDS, MonthRollup
from .selectors import dataset_freshness, rollup_lag_seconds, webhook_backlog

HTTP_REQUESTS = Counter(
    "dagr_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "dagr_http_request_duration_seconds",
    "Time to answer an HTTP request (until the response object is ready)",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
AUDIT_FAILURES = Counter(
    "dagr_audit_write_failures", "Access audit entries that could not be written (no data served)"
)


def audit_failure(**_: Any) -> None:
    AUDIT_FAILURES.inc()


# The labelled children of the two request metrics, per (route, method, status): ``labels()``
# validates and looks them up under a lock on every call. A child is never replaced (nothing
# removes labels from these metrics) and follows a fork itself (multi-process mode); bounded:
# routes are URL patterns.
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def request_count(route: str, method: str, status: int, started: float) -> None:
    """Count one answered request (``MetricsMiddleware``; also the data GET route of
    ``config/wsgi.py``) — ``started``: its ``time.perf_counter()`` at the start."""
    key = (route, method, status)
    children = _request_children.get(key)
    if children is None:
        children = (HTTP_REQUESTS.labels(route, method, str(status)), HTTP_LATENCY.labels(route))
        if len(_request_children) < 10_000:
            _request_children[key] = children
    children[0].inc()
    children[1].observe(time.perf_counter() - started)


class MetricsMiddleware:
    """Counts every answered request by its URL pattern (not the path: bounded label values)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = "/" + match.route if match is not None else "unmatched"
        request_count(route, request.method or "", response.status_code, started)
        return response


class DatabaseCollector:
    """Figures read from the database at scrape time."""

    def collect(self) -> Iterator[Metric]:
        yield from _data_requests()
        lag = GaugeMetricFamily(
            "dagr_stats_rollup_lag_seconds",
            "Age of the oldest access entry not yet in the statistics rollups (0: caught up)",
        )
        lag.add_metric([], rollup_lag_seconds())
        yield lag
        subjects = GaugeMetricFamily(
            "dagr_audit_subject_index_lag_seconds",
            "Age of the oldest access entry whose subjects are not yet in the subject index "
            "(0: caught up; who-read scans those entries meanwhile)",
        )
        subjects.add_metric([], index_lag_seconds())
        yield subjects
        yield from _worker_queue()
        fresh = GaugeMetricFamily(
            "dagr_dataset_last_load_age_seconds",
            "Seconds since the dataset's last successful load (absent: never loaded)",
            labels=["dataset"],
        )
        never = GaugeMetricFamily(
            "dagr_dataset_never_loaded",
            "1 for a dataset with no successful load",
            labels=["dataset"],
        )
        for code, age in dataset_freshness():
            if age is None:
                never.add_metric([code], 1)
            else:
                fresh.add_metric([code], age)
                never.add_metric([code], 0)
        yield fresh
        yield never
        backlog = GaugeMetricFamily(
            "dagr_webhook_backlog", "Webhook deliveries waiting to be sent or retried"
        )
        backlog.add_metric([], webhook_backlog())
        yield backlog


def _data_requests() -> Iterator[Metric]:
    counts = CounterMetricFamily(
        "dagr_data_requests",
        "Data requests recorded in the access audit (from the statistics rollups)",
        labels=["operation", "outcome"],
    )
    latency = HistogramMetricFamily(
        "dagr_data_request_duration_seconds",
        "Time to serve a data request, as recorded in the access audit",
        labels=["operation"],
    )
    per_op: dict[str, list[int]] = {}
    sums: dict[str, int] = {}
    rows = MonthRollup.objects.values("operation", "outcome").annotate(
        c=Sum("count"), d=Sum("duration_us"), **{b: Sum(b) for b in BUCKET_FIELDS}
    )
    r: dict[str, Any]
    for r in rows:  # type: ignore[assignment]  # the annotated values are plain dicts
        counts.add_metric([r["operation"], r["outcome"]], r["c"] or 0)
        b = per_op.setdefault(r["operation"], [0] * len(BUCKET_FIELDS))
        for i, f in enumerate(BUCKET_FIELDS):
            b[i] += r[f] or 0
        sums[r["operation"]] = sums.get(r["operation"], 0) + (r["d"] or 0)
    for op, b in per_op.items():
        cumulative, running = [], 0
        bounds = [*(str(x / 1000) for x in BUCKET_BOUNDS_MS), "+Inf"]
        for bound, n in zip(bounds, b, strict=True):
            running += n
            cumulative.append((bound, running))
        latency.add_metric([op], cumulative, sum_value=sums[op] / 1_000_000)
    yield counts
    yield latency


def _worker_queue() -> Iterator[Metric]:
    now = timezone.now()
    due = DBTaskResult.objects.filter(status="READY", run_after__lte=now)
    depth = GaugeMetricFamily("dagr_worker_queue_depth", "Background tasks due and not started")
    depth.add_metric([], due.count())
    oldest = due.order_by("run_after").values_list("enqueued_at", "run_after").first()
    age = GaugeMetricFamily(
        "dagr_worker_oldest_task_age_seconds", "How long the oldest due task has been waiting"
    )
    age.add_metric([], (now - max(oldest)).total_seconds() if oldest else 0.0)
    yield depth
    yield age


def exposition() -> bytes:
    """The whole text exposition: per-process metrics (all processes' files in multi-process
    mode) and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        MultiProcessCollector(process)  # type: ignore[no-untyped-call]  # untyped in the library
        return generate_latest(process) + generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)


# The classic text format (what generate_latest writes), understood by every Prometheus version.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
