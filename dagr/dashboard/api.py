"""The statistics API (DU-5): ``GET /api/v1/audit/stats/requests`` — the aggregated statistics of
the dashboard's requests page as JSON, with the same filters (period, dataset, recipient,
operation). For provider systems (their datasets), recipient systems (their own use) and portal
sessions (as the dashboard: administrators everything). Mounted beside the access audit API, as
its aggregated half."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.security import django_auth

from dagr.connections.auth import any_connection_auth
from dagr.connections.tokens import Principal
from dagr.core.errors import PermissionDenied
from dagr.permissions import rules
from dagr.records.services import ConnectionActor

from . import selectors

if TYPE_CHECKING:
    from dagr.accounts.models import User

router = Router(tags=["audit"])

Period = Literal["1h", "24h", "7d", "30d", "13m"]
Operation = Literal["get", "lookup", "search", "export", "feed"]


class StatsQuery(Schema):
    period: Period = Field(
        "30d",
        description="1h per minute, 24h and 7d per hour, 30d per day, 13m per month",
    )
    dataset: str = Field("", max_length=64, description="A dataset code")
    recipient: int | None = Field(None, ge=1, description="A recipient institution id")
    operation: Operation | None = None


class BucketOut(Schema):
    start: datetime
    requests: int
    not_served: int
    records: int


class GroupOut(Schema):
    key: str
    label: str
    requests: int
    not_served: int
    records: int


class ErrorOut(Schema):
    status: int
    outcome: str
    requests: int


class LatencyOut(Schema):
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    buckets: list[dict[str, Any]] = Field(
        description="Histogram: upper bound in ms (null: above the last) and count"
    )


class StatsOut(Schema):
    period: str
    grain: Literal["m", "h", "d", "M"]
    start: datetime
    end: datetime
    requests: int
    not_served: int
    records: int
    identifiers: int
    latency: LatencyOut
    series: list[BucketOut]
    by_dataset: list[GroupOut]
    by_recipient: list[GroupOut]
    by_operation: list[GroupOut]
    by_outcome: list[GroupOut]
    errors: list[ErrorOut]


def _groups(rows: list[selectors.Row]) -> list[dict[str, Any]]:
    return [
        {
            "key": str(r.key),
            "label": r.label,
            "requests": r.count,
            "not_served": r.failed,
            "records": r.records,
        }
        for r in rows
    ]


@router.get(
    "/requests",
    response=StatsOut,
    auth=[any_connection_auth, django_auth],
    summary="Statistics of data requests",
    description=(
        "Counts, outcomes, latency percentiles and records served, over time and per dataset, "
        "recipient institution, operation and outcome — from per-minute rollups of the access "
        "audit (at most about a minute behind). A provider system sees the use of its "
        "institution's datasets, a recipient system its institution's own use; a portal session "
        "sees what the dashboard shows that user. A dataset or recipient outside that is 404."
    ),
)
def request_stats(request: HttpRequest, query: Query[StatsQuery]) -> dict[str, Any]:
    auth = request.auth  # type: ignore[attr-defined]  # set by ninja: a Principal or the user
    actor: User | ConnectionActor = (
        ConnectionActor.from_principal(auth) if isinstance(auth, Principal) else auth
    )
    if not rules.can_view_statistics(actor):
        raise PermissionDenied(code="statistics_not_allowed")
    filters = selectors.Filters(
        period=query.period,
        dataset=query.dataset,
        recipient=query.recipient,
        operation=query.operation or "",
    )
    s = selectors.request_stats(actor=actor, filters=filters)
    bounds = [*selectors.BUCKET_BOUNDS_MS, None]
    return {
        "period": filters.period,
        "grain": s.grain,
        "start": s.start,
        "end": s.end,
        "requests": s.total,
        "not_served": s.failed,
        "records": s.records,
        "identifiers": s.identifiers,
        "latency": {
            "p50_ms": s.p50,
            "p95_ms": s.p95,
            "p99_ms": s.p99,
            "mean_ms": s.mean_ms,
            "buckets": [
                {"le_ms": b, "count": r.count} for b, r in zip(bounds, s.latency, strict=True)
            ],
        },
        "series": [
            {"start": r.key, "requests": r.count, "not_served": r.failed, "records": r.records}
            for r in s.series
        ],
        "by_dataset": _groups(s.by_dataset),
        "by_recipient": _groups(s.by_recipient),
        "by_operation": _groups(s.by_operation),
        "by_outcome": _groups(s.by_outcome),
        "errors": [
            {"status": r.key[0], "outcome": r.key[1], "requests": r.count} for r in s.errors
        ],
    }
