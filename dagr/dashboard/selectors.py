"""Reads of the dashboard: statistics of requests (from the rollups only), datasets' freshness and
load history, recipients' grants, quotas, connections and webhooks.

Who sees what is asked of ``dagr.permissions.rules`` (``stats_provider_ids``,
``stats_recipient_ids``): a provider sees the use of its institution's datasets, a recipient its
institution's own use, an administrator everything. A filter naming something outside that scope
raises ``NotFound``, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, Max, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution
from dagr.audit.models import AccessEntry
from dagr.catalog.models import Dataset
from dagr.connections.models import Connection
from dagr.core.actors import Visitor
from dagr.core.errors import NotFound, ValidationError
from dagr.grants.models import Grant, GrantUsage
from dagr.monitoring.models import Delivery, Subscription
from dagr.permissions import rules
from dagr.records.models import Load, Record

from .models import (
    BUCKET_BOUNDS_MS,
    BUCKET_FIELDS,
    ROLLUPS,
    ConnectionSeen,
    DatasetSize,
    RollupCursor,
)
from .stats import percentile

FRESH_FOR = timedelta(hours=24)

# Period → (grain of the rollups read, number of buckets ending with the current one).
PERIODS: dict[str, tuple[str, int]] = {
    "1h": ("m", 60),
    "24h": ("h", 24),
    "7d": ("h", 168),
    "30d": ("d", 30),
    "13m": ("M", 13),
}
PERIOD_LABELS = {
    "1h": _("last hour (per minute)"),
    "24h": _("last 24 hours (per hour)"),
    "7d": _("last 7 days (per hour)"),
    "30d": _("last 30 days (per day)"),
    "13m": _("last 13 months (per month)"),
}
DEFAULT_PERIOD = "30d"
OPERATIONS = ("get", "lookup", "search", "export", "feed")  # services.OPERATION_NAMES
OUTCOMES = tuple(AccessEntry.Outcome.values)


@dataclass(frozen=True)
class Filters:
    period: str = DEFAULT_PERIOD
    dataset: str = ""  # dataset code
    recipient: int | None = None  # recipient institution id
    operation: str = ""


@dataclass
class Row:
    key: Any
    label: str
    count: int = 0
    failed: int = 0
    records: int = 0


@dataclass
class RequestStats:
    filters: Filters
    grain: str
    start: datetime
    end: datetime
    series: list[Row] = field(default_factory=list)  # key: bucket start (local time)
    by_dataset: list[Row] = field(default_factory=list)
    by_recipient: list[Row] = field(default_factory=list)
    by_operation: list[Row] = field(default_factory=list)
    by_outcome: list[Row] = field(default_factory=list)
    errors: list[Row] = field(default_factory=list)  # key: (status, outcome)
    latency: list[Row] = field(default_factory=list)  # key: bucket upper bound (ms)
    total: int = 0
    failed: int = 0
    records: int = 0
    identifiers: int = 0
    mean_ms: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


# --- scope ---------------------------------------------------------------------------------------


def _scope_dataset_ids(actor: Visitor) -> set[int] | None:
    providers = rules.stats_provider_ids(actor)
    if providers is None:
        return None
    return set(Dataset.objects.filter(provider_id__in=providers).values_list("pk", flat=True))


def _scope(actor: Visitor) -> Q | None:
    """A filter over rollups (and anything with ``dataset_id``/``institution_id``) the actor may
    see; ``None``: everything."""
    datasets, recipients = _scope_dataset_ids(actor), rules.stats_recipient_ids(actor)
    if datasets is None or recipients is None:
        return None
    return Q(dataset_id__in=datasets) | Q(institution_id__in=recipients)


def filter_choices(actor: Visitor) -> dict[str, list[tuple[str, str]]]:
    """The datasets and recipient institutions the actor may filter by."""
    datasets = Dataset.objects.order_by("code")
    grants = Grant.objects.all()
    ds_ids, recipients = _scope_dataset_ids(actor), rules.stats_recipient_ids(actor)
    if ds_ids is not None and recipients is not None:
        granted = Grant.objects.filter(recipient_id__in=recipients).values("dataset_id")
        datasets = datasets.filter(Q(pk__in=ds_ids) | Q(pk__in=granted))
        grants = grants.filter(Q(dataset_id__in=ds_ids) | Q(recipient_id__in=recipients))
    institutions = Institution.objects.filter(pk__in=grants.values("recipient_id")).order_by("name")
    return {
        "datasets": [(d.code, d.code) for d in datasets.only("code")],
        "recipients": [(str(i.pk), i.name) for i in institutions.only("name")],
    }


def _checked(actor: Visitor, filters: Filters) -> Q:
    """The filter conditions, after checking that each named dataset/recipient is in scope."""
    if filters.period not in PERIODS:
        raise ValidationError(_("Unknown period."), code="invalid_period")
    if filters.operation and filters.operation not in OPERATIONS:
        raise ValidationError(_("Unknown operation."), code="invalid_operation")
    q = Q()
    choices = filter_choices(actor)
    if filters.dataset:
        if filters.dataset not in {c for c, _l in choices["datasets"]}:
            raise NotFound(_("No such dataset."), code="dataset_not_found")
        q &= Q(dataset_id=Dataset.objects.get(code=filters.dataset).pk)
    if filters.recipient is not None:
        if str(filters.recipient) not in {c for c, _l in choices["recipients"]}:
            raise NotFound(_("No such recipient."), code="recipient_not_found")
        q &= Q(institution_id=filters.recipient)
    if filters.operation:
        q &= Q(operation=filters.operation)
    return q


# --- time buckets --------------------------------------------------------------------------------


def _truncate(moment: datetime, grain: str) -> datetime:
    local = timezone.localtime(moment).replace(second=0, microsecond=0)
    if grain in "hdM":
        local = local.replace(minute=0)
    if grain in "dM":
        local = local.replace(hour=0)
    if grain == "M":
        local = local.replace(day=1)
    return local


def _step(start: datetime, grain: str, n: int) -> datetime:
    """``n`` buckets later (earlier when negative), in local wall time."""
    if grain == "m":
        return timezone.localtime(start + timedelta(minutes=n))
    if grain == "h":
        return timezone.localtime(start + timedelta(hours=n))
    if grain == "d":
        return (start.replace(tzinfo=None) + timedelta(days=n)).replace(tzinfo=start.tzinfo)
    months = start.year * 12 + start.month - 1 + n
    return start.replace(year=months // 12, month=months % 12 + 1)


def buckets(period: str, now: datetime | None = None) -> tuple[str, list[datetime]]:
    grain, n = PERIODS[period]
    last = _truncate(now or timezone.now(), grain)
    return grain, [_step(last, grain, i) for i in range(-(n - 1), 1)]


# --- requests ------------------------------------------------------------------------------------


def _total(column: str, **extra: Any) -> Sum | Cast:
    """A sum as a plain integer: PostgreSQL sums bigint columns as numeric, and turning ~100,000
    of those into Decimal took ~150 ms of a page at 10 M entries. SQLite's sums of integers are
    integers already (a cast there cost ~40 % more time in its grouping)."""
    if connection.vendor == "postgresql":
        return Cast(Sum(column, **extra), BigIntegerField())
    return Sum(column, **extra)


def _failed() -> Sum | Cast:
    return _total("count", filter=~Q(outcome="ok"))


DIMENSIONS = ("dataset_id", "institution_id", "operation", "outcome", "status_code")


# PostgreSQL's default work_mem (4 MB) makes it sort the ~60,000 rows of a 13-month period on
# disk before grouping them; with room for a hash table the grouped read took half as long. Its
# JIT compiler (on by default for queries this large) spent ~15 ms per read compiling them.
STATS_WORK_MEM = "64MB"


def request_stats(*, actor: Visitor, filters: Filters, now: datetime | None = None) -> RequestStats:
    """The requests of the period, from the rollups of one grain: a handful of grouped sums over
    at most a few thousand rows per dataset and recipient, whatever the size of the audit."""
    if connection.vendor != "postgresql":
        return _request_stats(actor=actor, filters=filters, now=now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
            [STATS_WORK_MEM],
        )
        return _request_stats(actor=actor, filters=filters, now=now)


def _request_stats(*, actor: Visitor, filters: Filters, now: datetime | None) -> RequestStats:
    conditions = _checked(actor, filters)
    grain, starts = buckets(filters.period, now)
    end = _step(starts[-1], grain, 1)
    scope = _scope(actor)

    def rows(of: str, start: datetime, until: datetime) -> Any:
        qs = ROLLUPS[of]._default_manager.filter(conditions, start__gte=start, start__lt=until)
        return qs if scope is None else qs.filter(scope)

    stats = RequestStats(filters=filters, grain=grain, start=starts[0], end=end)

    per_start: dict[datetime, dict[str, Any]] = {
        timezone.localtime(r["start"]): dict(r)
        for r in rows(grain, starts[0], end)
        .values("start")
        .annotate(c=_total("count"), f=_failed(), n=_total("records"))
    }
    for s in starts:
        r: dict[str, Any] = per_start.get(s, {})
        stats.series.append(
            Row(s, _bucket_label(s, grain), r.get("c") or 0, r.get("f") or 0, r.get("n") or 0)
        )
    # One grouped read of the period by every dimension (at most datasets × recipients ×
    # operations × outcomes × statuses rows, whatever the number of buckets); every other
    # table is summed from it here. It reads the coarsest rows that cover the period exactly
    # (``_covering``): the whole days of "7 days" from the day rows, only its ends by the hour.
    # The latency histogram is summed apart, ungrouped: carrying its 14 columns through the
    # grouping cost SQLite more than a second pass over the rows.
    width = len(DIMENSIONS)
    merged: dict[tuple[Any, ...], list[int]] = {}
    counts = [0] * len(BUCKET_FIELDS)
    for of, start, until in _covering(grain, starts[0], end):
        part = rows(of, start, until)
        grouped = part.values(*DIMENSIONS).annotate(
            c=_total("count"), n=_total("records"), i=_total("identifiers"),
            d=_total("duration_us"),
        )  # fmt: skip
        for values in _plain_rows(grouped):
            key, measures = values[:width], [v or 0 for v in values[width:]]
            seen = merged.get(key)
            merged[key] = measures if seen is None else [a + b for a, b in zip(seen, measures)]  # noqa: B905
        histogram = part.aggregate(**{b: _total(b) for b in BUCKET_FIELDS})
        counts = [n + (histogram[b] or 0) for n, b in zip(counts, BUCKET_FIELDS)]  # noqa: B905
    datasets = dict(Dataset.objects.values_list("pk", "code"))
    names = dict(Institution.objects.values_list("pk", "name"))
    outcome_labels = dict(AccessEntry.Outcome.choices)
    # One pass over the combinations: per dataset, recipient, operation and outcome [count,
    # failed, records]; the errors by (status, outcome); the totals.
    per: tuple[dict[Any, list[int]], ...] = ({}, {}, {}, {})
    errors: dict[tuple[int, str], int] = {}
    total = failed = records = identifiers = duration_us = 0
    for (dataset_id, institution_id, operation, outcome, status), measures in merged.items():
        c, n, i, d = measures
        bad = c if outcome != "ok" else 0
        for groups, key in zip(per, (dataset_id, institution_id, operation, outcome)):  # noqa: B905
            acc = groups.get(key)
            if acc is None:
                groups[key] = [c, bad, n]
            else:
                acc[0] += c
                acc[1] += bad
                acc[2] += n
        if bad:
            errors[(status, outcome)] = errors.get((status, outcome), 0) + c
        total, failed, records = total + c, failed + bad, records + n
        identifiers, duration_us = identifiers + i, duration_us + d
    labels = (
        lambda k: datasets.get(k, "—"),
        lambda k: names.get(k, "—"),
        str,
        lambda k: str(outcome_labels.get(k, k)),
    )
    stats.by_dataset, stats.by_recipient, stats.by_operation, stats.by_outcome = (
        _ranked(groups, label)
        for groups, label in zip(per, labels)  # noqa: B905
    )
    stats.errors = [
        Row(key, f"{key[0]} {outcome_labels.get(key[1], key[1])}", n)
        for key, n in sorted(errors.items(), key=lambda kv: -kv[1])[:10]
    ]
    stats.total, stats.failed, stats.records, stats.identifiers = (
        total, failed, records, identifiers,
    )  # fmt: skip
    if stats.total:
        stats.mean_ms = round(duration_us / 1000 / stats.total, 2)
    stats.p50, stats.p95, stats.p99 = (percentile(counts, q) for q in (0.5, 0.95, 0.99))
    bounds = [*(f"≤ {b:g} ms" for b in BUCKET_BOUNDS_MS), f"> {BUCKET_BOUNDS_MS[-1]:g} ms"]
    stats.latency = [
        Row(i, label, n) for i, (label, n) in enumerate(zip(bounds, counts, strict=True))
    ]
    return stats


def _plain_rows(grouped: Any) -> list[tuple[Any, ...]]:
    """The rows of a grouped read (a ``values().annotate()`` queryset, columns in that order) as
    the database driver gives them: every column here is already an integer or a string, and
    Django's converters, called once per value, cost ~20 ms for the ~100,000 values of a 7-day
    page at 10 M entries."""
    sql, params = grouped.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _covering(grain: str, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """The rollup rows — (grain, from, until) — whose sum over ``[start, end)`` equals that of the
    ``grain`` rows, with as few rows as possible: an hour-grain period reads the day rows of the
    whole (local) days inside it and hour rows only before the first and after the last of them.
    Day rows hold exactly the entries of their local day, folded in the same transaction as the
    hour rows, so the sums are the same (a test compares them); at 10 M entries a "7 days" page
    reads ~43,000 rows instead of ~110,000."""
    if grain != "h":
        return [(grain, start, end)]
    first_day = _truncate(start, "d")
    if first_day < start:
        first_day = _step(first_day, "d", 1)
    last_day = _truncate(end, "d")  # whole days are [first_day, last_day)
    if last_day <= first_day:
        return [(grain, start, end)]
    return [("h", start, first_day), ("d", first_day, last_day), ("h", last_day, end)]


def _ranked(groups: dict[Any, list[int]], label: Any) -> list[Row]:
    rows = [Row(key, label(key), c, bad, n) for key, (c, bad, n) in groups.items()]
    return sorted(rows, key=lambda row: (-row.count, row.label))


def _bucket_label(start: datetime, grain: str) -> str:
    return start.strftime({"m": "%H:%M", "h": "%d.%m. %H:00", "d": "%d.%m.%Y", "M": "%Y-%m"}[grain])


def rollup_lag_seconds(now: datetime | None = None) -> float:
    """How far the rollups are behind: the age of the oldest access entry not yet folded in
    (0 when none waits). One index lookup."""
    last = RollupCursor.objects.filter(name="access").values_list("last_id", flat=True).first()
    oldest = (
        AccessEntry.objects.filter(id__gt=last or 0).order_by("id").values_list("at", flat=True)
    ).first()
    if oldest is None:
        return 0.0
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds())


# --- datasets ------------------------------------------------------------------------------------


@dataclass
class DatasetStatus:
    dataset: Dataset
    records: int
    last_load: Load | None
    age: timedelta | None
    stale: bool
    loads: list[tuple[Load, float | None]]  # with its duration in seconds
    size: DatasetSize | None = None  # size on disk, as the worker last measured it

    @property
    def age_hours(self) -> int | None:
        return int(self.age.total_seconds() // 3600) if self.age is not None else None


def datasets_status(
    *, actor: Visitor, now: datetime | None = None, history: int = 10
) -> list[DatasetStatus]:
    """Per dataset in the actor's scope: live record count, last successful load and freshness
    against the 24-hour rule, the recent loads, the size on disk (measured by the worker,
    ``services.dataset_sizes_measure``: a page view reads the stored figure, never measures)."""
    now = now or timezone.now()
    datasets = Dataset.objects.select_related("schema").order_by("code")
    ds_ids, recipients = _scope_dataset_ids(actor), rules.stats_recipient_ids(actor)
    if ds_ids is not None and recipients is not None:
        granted = Grant.objects.filter(recipient_id__in=recipients).values("dataset_id")
        datasets = datasets.filter(Q(pk__in=ds_ids) | Q(pk__in=granted))
    datasets_list = list(datasets)
    ids = [d.pk for d in datasets_list]
    counts = dict(
        Record.objects.filter(dataset_id__in=ids, deleted_at__isnull=True)
        .values("dataset_id")
        .annotate(n=Count("id"))
        .values_list("dataset_id", "n")
    )
    sizes = {s.dataset_id: s for s in DatasetSize.objects.filter(dataset_id__in=ids)}
    result = []
    for d in datasets_list:
        loads = [
            (
                load,
                (load.finished_at - load.started_at).total_seconds() if load.finished_at else None,
            )
            for load in Load.objects.filter(dataset=d)
            .exclude(source=Load.Source.REEVALUATION)
            .order_by("-started_at")[:history]
        ]
        last = (
            Load.objects.filter(dataset=d, status=Load.Status.SUCCEEDED)
            .exclude(source=Load.Source.REEVALUATION)
            .order_by("-started_at")
            .first()
        )
        finished = last.finished_at or last.started_at if last else None
        age = now - finished if finished else None
        result.append(
            DatasetStatus(
                d, counts.get(d.pk, 0), last, age, age is None or age > FRESH_FOR, loads,
                sizes.get(d.pk),
            )
        )  # fmt: skip
    return result


def dataset_freshness() -> list[tuple[str, float | None]]:
    """(dataset code, seconds since its last successful load) for every dataset (metrics)."""
    now = timezone.now()
    last = dict(
        Load.objects.filter(status=Load.Status.SUCCEEDED)
        .exclude(source=Load.Source.REEVALUATION)
        .values("dataset_id")
        .annotate(at=Max("finished_at"))
        .values_list("dataset_id", "at")
    )
    return [
        (code, (now - last[pk]).total_seconds() if last.get(pk) else None)
        for pk, code in Dataset.objects.order_by("code").values_list("pk", "code")
    ]


# --- recipients ----------------------------------------------------------------------------------


@dataclass
class RecipientStatus:
    institution: Institution
    grants: list[Grant]
    usage_today: dict[int, int]  # grant id → requests today
    connections: list[tuple[Connection, ConnectionSeen | None]]
    subscriptions: list[tuple[Subscription, int]]  # with failed deliveries


FAILING = [Delivery.Status.FAILED, Delivery.Status.RETRYING]


def recipients_status(*, actor: Visitor, now: datetime | None = None) -> list[RecipientStatus]:
    """Per recipient institution in scope: grants with validity and quota use today, its
    connections with their last call, webhooks with failing deliveries. A provider sees the
    recipients of its datasets, limited to the grants on them."""
    today = timezone.localdate(now or timezone.now())
    grants = Grant.objects.select_related("dataset", "recipient").order_by(
        "recipient__name", "dataset__code"
    )
    ds_ids, recipients = _scope_dataset_ids(actor), rules.stats_recipient_ids(actor)
    full: set[int] | None = None  # institutions whose connections and webhooks the actor sees
    if ds_ids is not None and recipients is not None:
        grants = grants.filter(Q(dataset_id__in=ds_ids) | Q(recipient_id__in=recipients))
        full = recipients
    by_inst: dict[int, RecipientStatus] = {}
    grant_list = list(grants)
    usage = dict(
        GrantUsage.objects.filter(grant__in=grant_list, day=today).values_list("grant_id", "count")
    )
    for g in grant_list:
        status = by_inst.setdefault(g.recipient_id, RecipientStatus(g.recipient, [], usage, [], []))
        status.grants.append(g)
    for iid in list(by_inst) + [i for i in (full or ()) if i not in by_inst]:
        if iid not in by_inst:
            inst = Institution.objects.filter(pk=iid).first()
            if inst is None:
                continue
            by_inst[iid] = RecipientStatus(inst, [], usage, [], [])
    visible = list(by_inst) if full is None else [i for i in by_inst if i in full]
    seen = {s.connection_id: s for s in ConnectionSeen.objects.filter(institution_id__in=visible)}
    for c in Connection.objects.filter(institution_id__in=visible).order_by("name"):
        by_inst[c.institution_id].connections.append((c, seen.get(c.pk)))
    failing = (
        Subscription.objects.filter(record_set__institution_id__in=visible)
        .annotate(failed=Count("deliveries", filter=Q(deliveries__status__in=FAILING)))
        .filter(Q(failed__gt=0) | Q(consecutive_failures__gt=0))
        .select_related("record_set")
    )  # fmt: skip
    for s in failing:
        by_inst[s.record_set.institution_id].subscriptions.append((s, s.failed))
    return sorted(by_inst.values(), key=lambda r: r.institution.name)


def webhook_backlog() -> int:
    """Deliveries waiting to be sent or retried (metrics)."""
    return Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING]
    ).count()
