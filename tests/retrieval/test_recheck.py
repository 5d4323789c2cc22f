"""The daily re-check: a record that enters or leaves a relative-date condition because the
calendar moved (no data change) reaches incremental feed readers as created / deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dagr.core.actors import SYSTEM
from dagr.records.models import Change, Load
from dagr.records.services import records_upsert
from dagr.retrieval import recheck
from dagr.retrieval.datasets import dataset_cache

from .factories import company, make_world, set_grant
from .test_changes import apply, read_all, visible_now

pytestmark = pytest.mark.django_db
DAYS = 1000


def world_with(op: str) -> Any:
    w = make_world(conditions=[{"field": "founded", "op": op, "value": {"days": DAYS}}])
    set_grant(w.grant, valid_from=timezone.localdate() - timedelta(days=30))  # read "yesterday"
    dataset_cache.invalidate()
    return w


def at_day(monkeypatch, day) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: day)


def test_a_record_entering_an_older_than_condition_is_announced(client, w_older, monkeypatch):
    w = w_older
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    threshold = (today - timedelta(days=DAYS)).isoformat()  # "older than" holds on or before it
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(40, founded=threshold)])
    at_day(monkeypatch, yesterday)
    copy: dict[str, dict] = {}
    changes, cursor = read_all(client, w)
    apply(copy, changes)
    assert "40000000040" not in copy  # not old enough yesterday
    monkeypatch.undo()

    assert recheck.feeds_recheck(today=today) == {w.dataset.code: 1}
    (entry,) = Change.objects.filter(dataset=w.dataset, operation="rechecked")
    assert entry.record_key == "40000000040"
    load = Load.objects.get(pk=entry.load_id)
    assert load.source == "reevaluation"
    assert load.details == {"since": yesterday.isoformat(), "until": today.isoformat()}

    changes, _ = read_all(client, w, cursor)
    assert [(c["key"], c["operation"]) for c in changes] == [("40000000040", "created")]
    apply(copy, changes)
    assert copy == visible_now(w)
    # Once a day: a second run the same day adds nothing.
    assert recheck.feeds_recheck(today=today) == {}
    assert Change.objects.filter(operation="rechecked").count() == 1
    # A reader starting today sees the record once created (and again, harmlessly, re-checked).
    fresh: dict[str, dict] = {}
    apply(fresh, read_all(client, w)[0])
    assert fresh == visible_now(w)


def test_a_record_leaving_a_newer_than_condition_is_announced(client, monkeypatch):
    w = world_with("newer_than")
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    edge = (today - timedelta(days=DAYS)).isoformat()  # "newer than" holds strictly after it
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(41, founded=edge)])
    at_day(monkeypatch, yesterday)
    changes, cursor = read_all(client, w)
    assert ("40000000041", "created") in [(c["key"], c["operation"]) for c in changes]
    monkeypatch.undo()
    assert recheck.feeds_recheck(today=today)[w.dataset.code] >= 1
    changes, _ = read_all(client, w, cursor)
    assert ("40000000041", "deleted") in [(c["key"], c["operation"]) for c in changes]


def test_other_grants_and_unaffected_records_see_nothing(client, w_older):
    w = w_older
    today = timezone.localdate()
    _changes, cursor = read_all(client, w)
    assert recheck.feeds_recheck(today=today) == {w.dataset.code: 0}  # nobody crossed
    assert not Change.objects.filter(operation="rechecked").exists()
    assert read_all(client, w, cursor)[0] == []


def test_missed_days_are_covered_by_the_next_run(w_older):
    w = w_older
    today = timezone.localdate()
    threshold = today - timedelta(days=DAYS)
    # Crossed three days ago and today: both found when the last run was four days ago.
    records_upsert(
        actor=SYSTEM,
        dataset=w.dataset,
        records=[
            company(42, founded=(threshold - timedelta(days=3)).isoformat()),
            company(43, founded=threshold.isoformat()),
        ],
    )
    assert recheck.feeds_recheck(today=today - timedelta(days=4)) == {w.dataset.code: 0}
    Load.objects.filter(source="reevaluation").delete()
    four_days_ago = today - timedelta(days=4)
    crossing = recheck.records_crossing(
        w.dataset.pk, recheck.relative_conditions()[w.dataset.pk], four_days_ago, today
    )
    keys = set(w.dataset.records.filter(pk__in=crossing).values_list("key", flat=True))
    assert keys == {"40000000042", "40000000043"}


def test_record_set_conditions_take_part(w_older):
    from tests.monitoring.record_set_helpers import make_set

    w = w_older
    make_set(
        w,
        identifier_field="",
        conditions=[{"field": "founded", "op": "newer_than", "value": {"years": 3}}],
    )
    conditions = recheck.relative_conditions()[w.dataset.pk]
    assert {c.op for c in conditions} == {"older_than", "newer_than"}


def test_the_worker_queues_the_daily_task_once(settings):
    from django_tasks_db.models import DBTaskResult

    from dagr.core.management.commands.worker import _schedule_daily_tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    path = "dagr.retrieval.tasks.feeds_recheck_task"
    _schedule_daily_tasks()
    _schedule_daily_tasks()
    assert DBTaskResult.objects.filter(task_path=path, status="READY").count() == 1


def test_next_run_is_the_coming_ten_past_midnight():
    now = timezone.localtime()
    first = recheck.next_run(now)
    assert first > now and first - now <= timedelta(days=1)
    assert (first.hour, first.minute) == (0, 10)


@pytest.fixture
def w_older():
    return world_with("older_than")


def test_a_record_set_s_own_date_condition_is_rechecked(monkeypatch):
    from dagr.monitoring.services import record_set_changes
    from dagr.retrieval.services import Caller
    from tests.monitoring.record_set_helpers import make_set

    w = make_world()  # the grant: active companies with at least 10 employees; no dates
    set_grant(w.grant, valid_from=timezone.localdate() - timedelta(days=30))
    record_set = make_set(
        w,
        identifier_field="",
        conditions=[{"field": "founded", "op": "older_than", "value": {"days": DAYS}}],
    )
    today = timezone.localdate()
    threshold = (today - timedelta(days=DAYS)).isoformat()
    records_upsert(actor=SYSTEM, dataset=w.dataset, records=[company(44, founded=threshold)])
    caller = Caller(institution_id=w.recipient.pk, label="test")

    def follow(cursor):
        seen = []
        while True:
            page = record_set_changes(caller=caller, record_set_id=record_set.pk, cursor=cursor)
            seen.extend((c["key"], c["operation"]) for c in page.changes)
            cursor = page.next_cursor
            if not page.has_more:
                return seen, cursor

    at_day(monkeypatch, today - timedelta(days=1))
    seen, cursor = follow(None)
    assert ("40000000044", "created") not in seen
    monkeypatch.undo()
    assert recheck.feeds_recheck(today=today)[w.dataset.code] == 1
    assert follow(cursor)[0] == [("40000000044", "created")]
