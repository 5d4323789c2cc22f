"""The daily re-check of relative-date conditions for the change feeds.

A condition such as "birth date older than 18 years" changes its answer when the calendar moves,
without any change to the record: the day a person turns 18 they enter a grant that shows only
adults. The change feed (``dagr.retrieval.changes``) is driven by the change log, so such a
record would reach an incremental reader only at its next real change. This job closes that gap:
once a day it finds the live records that one of the relative-date conditions in use (grants,
and record sets through ``register_condition_source``) judges differently today than on the
last re-check day, and appends a ``rechecked`` change-log entry for each
(``records.services.changes_mark_reevaluated``). The feed judges such an entry's state before
as of the re-check's starting day and its state after as of the reading day, so the reader gets
``created`` (entered) or ``deleted`` (left) — and nothing when its own terms are not affected.

The last re-check day of a dataset is the ``until`` of its latest re-check load; a missed day
(worker down) is covered by the next run's longer interval. The query is one scan of the
dataset's live records per distinct condition (the JSON fields carry no index): about a second
per million records on PostgreSQL (measured 0.72 s; SQLite ~4 s), once a day.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

import orjson
from django.utils import timezone

from dagr.catalog.models import Dataset
from dagr.grants.cache import load_active_grants
from dagr.grants.conditions import Condition, conditions_as_json, to_sql
from dagr.records import queries
from dagr.records.models import Load
from dagr.records.services import changes_mark_reevaluated

logger = logging.getLogger(__name__)

RELATIVE_OPS = ("older_than", "newer_than")
RUN_AT = time(0, 10)  # local time of the daily run

ConditionSource = Callable[[], Iterable[tuple[int, Iterable[Condition]]]]
_sources: list[ConditionSource] = []


def register_condition_source(source: ConditionSource) -> None:
    """Let a later app (record sets) add the conditions it evaluates: ``source()`` yields
    ``(dataset id, conditions)``."""
    if source not in _sources:
        _sources.append(source)


def _grant_conditions() -> Iterable[tuple[int, Iterable[Condition]]]:
    for grant in load_active_grants().values():
        if grant.status == "approved" and grant.valid_schema:
            yield grant.dataset_id, grant.conditions


def relative_conditions() -> dict[int, list[Condition]]:
    """Distinct relative-date conditions in use, per dataset."""
    found: dict[int, dict[bytes, Condition]] = defaultdict(dict)
    for source in (_grant_conditions, *_sources):
        for dataset_id, conditions in source():
            for condition in conditions:
                if condition.op in RELATIVE_OPS:
                    key = orjson.dumps(conditions_as_json([condition]), option=orjson.OPT_SORT_KEYS)
                    found[dataset_id][key] = condition
    return {dataset_id: list(items.values()) for dataset_id, items in found.items()}


def last_recheck_day(dataset: Dataset) -> date | None:
    details = (
        Load.objects.filter(dataset=dataset, source=Load.Source.REEVALUATION)
        .order_by("-started_at", "-id")
        .values_list("details", flat=True)
        .first()
    )
    until = (details or {}).get("until")
    return date.fromisoformat(until) if until else None


def records_crossing(
    dataset_id: int, conditions: Iterable[Condition], since: date, until: date
) -> set[int]:
    """Ids of live records that one of ``conditions`` judges differently on ``until`` than on
    ``since`` (the engine's own SQL, evaluated for both days)."""
    ids: set[int] = set()
    for condition in conditions:
        before, before_params = to_sql([condition], column=queries.DATA_COLUMN, today=since)
        after, after_params = to_sql([condition], column=queries.DATA_COLUMN, today=until)
        ids |= queries.records_judged_differently(
            dataset_id=dataset_id,
            before=before,
            before_params=before_params,
            after=after,
            after_params=after_params,
        )
    return ids


def feeds_recheck(*, today: date | None = None) -> dict[str, int]:
    """Run the re-check for every production dataset with relative-date conditions in use;
    ``{dataset code: rechecked records}``."""
    today = today or timezone.localdate()
    result: dict[str, int] = {}
    for dataset_id, conditions in relative_conditions().items():
        dataset = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.PRODUCTION).first()
        if dataset is None:
            continue
        since = last_recheck_day(dataset) or today - timedelta(days=1)
        if since >= today:
            continue
        ids = records_crossing(dataset.pk, conditions, since, today)
        changes_mark_reevaluated(dataset=dataset, record_ids=sorted(ids), since=since, until=today)
        result[dataset.code] = len(ids)
        if ids:
            logger.info(
                "re-check of %s: %s records crossed a date condition", dataset.code, len(ids)
            )
    return result


def next_run(now: datetime | None = None) -> datetime:
    """The next daily run time (local ``RUN_AT``) after ``now``."""
    now = timezone.localtime(now)
    candidate = now.replace(hour=RUN_AT.hour, minute=RUN_AT.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)
