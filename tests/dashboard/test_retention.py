"""Minute rollups are kept only as long as the finest view needs them: the worker prunes older
ones in bounded batches, and every longer period reads hour/day/month rows, so its figures do
not change when the minute rows go."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from dagr.dashboard import selectors
from dagr.dashboard.models import ROLLUPS
from dagr.dashboard.services import (
    minute_rollups_prune,
    minute_rows_from,
    rollups_advance,
    rollups_rebuild,
    stats_periodic,
)

from .conftest import World, access, now_plus

pytestmark = pytest.mark.django_db

DAY = 24 * 60  # minutes


@pytest.fixture
def long_history(history: World) -> World:
    """The recent accesses plus some 3, 10, 40 and 200 days ago."""
    for days, n in ((3, 2), (10, 3), (40, 4), (200, 5)):
        for i in range(n):
            access(history, minutes_ago=days * DAY + i, duration_ms=1.0 + 40 * i)
    return history


def all_views(world: World, now: object) -> dict[str, selectors.RequestStats]:
    return {
        period: selectors.request_stats(
            actor=world.admin, filters=selectors.Filters(period=period), now=now
        )  # type: ignore[arg-type]
        for period in selectors.PERIODS
    }


def old_minutes(now: object) -> int:
    return ROLLUPS["m"].objects.filter(start__lt=minute_rows_from(now)).count()  # type: ignore[arg-type]


def test_old_minute_rows_are_pruned_and_the_views_do_not_change(long_history: World) -> None:
    now = now_plus()
    with override_settings(DAGR_STATS_MINUTE_ROWS_HOURS=24 * 400):  # keep every minute row
        assert rollups_advance(now=now) == 13 + 14
    assert old_minutes(now) == 14  # one minute row per old access
    before = all_views(long_history, now)
    assert before["13m"].total == 27 and before["30d"].total == 13 + 2 + 3
    assert before["7d"].total == 13 + 2

    assert minute_rollups_prune(now=now) == 14
    assert old_minutes(now) == 0
    assert ROLLUPS["m"].objects.all().count() > 0  # the last hour's minutes are kept
    assert all_views(long_history, now) == before  # 1 h, 24 h, 7 d, 30 d, 13 months alike
    assert minute_rollups_prune(now=now) == 0


def test_pruning_goes_in_bounded_batches(long_history: World) -> None:
    now = now_plus()
    with override_settings(DAGR_STATS_MINUTE_ROWS_HOURS=24 * 400):
        rollups_advance(now=now)
    assert minute_rollups_prune(now=now, batch=3, max_batches=2) == 6
    assert old_minutes(now) == 8
    assert minute_rollups_prune(now=now, batch=3, max_batches=10) == 8
    assert old_minutes(now) == 0


def test_the_keep_is_a_setting_and_never_below_the_finest_view(long_history: World) -> None:
    now = now_plus()
    with override_settings(DAGR_STATS_MINUTE_ROWS_HOURS=24 * 400):
        rollups_advance(now=now)
    with override_settings(DAGR_STATS_MINUTE_ROWS_HOURS=24 * 20):
        assert minute_rollups_prune(now=now) == 4 + 5  # 40 and 200 days old
    with override_settings(DAGR_STATS_MINUTE_ROWS_HOURS=0):  # clamped to 2 h
        assert minute_rows_from(now) <= timezone.localtime(now - timedelta(hours=2))
        one_hour = selectors.request_stats(
            actor=long_history.admin, filters=selectors.Filters(period="1h"), now=now
        )
        minute_rollups_prune(now=now)
        assert (
            selectors.request_stats(
                actor=long_history.admin, filters=selectors.Filters(period="1h"), now=now
            )
            == one_hour
        )
        assert one_hour.total == 13


def test_folding_and_rebuilding_write_no_minute_rows_past_the_keep(long_history: World) -> None:
    now = now_plus()
    assert rollups_rebuild(now=now) == 27
    assert old_minutes(now) == 0
    assert sum(r.count for r in ROLLUPS["M"].objects.all()) == 27
    assert sum(r.count for r in ROLLUPS["m"].objects.all()) == 13


def test_the_worker_job_folds_and_prunes(long_history: World) -> None:
    now = now_plus()
    with override_settings(DAGR_STATS_MINUTE_ROWS_HOURS=24 * 400):
        rollups_advance(now=now)
    access(long_history, minutes_ago=1)
    stats_periodic(now=now_plus())
    assert old_minutes(now) == 0
    assert sum(r.count for r in ROLLUPS["M"].objects.all()) == 28


def test_seven_days_read_from_day_rows_equal_the_hour_rows(history: World) -> None:
    """The "7 days" view sums its whole days from the day rows and only its ends from the hour
    rows; the figures equal the hour rows' — also for accesses in the first and last partial
    days, and none from the day row of a day the period starts in the middle of."""
    hours = (1, 5, 30, 50, 3 * 24 + 7, 6 * 24 + 1, 160, 166.5, 168.5, 171, 200)
    for i, h in enumerate(hours):
        access(history, minutes_ago=h * 60, duration_ms=1.0 + 300 * i, records_returned=i)
    now = now_plus()
    rollups_advance(now=now)
    stats = selectors.request_stats(
        actor=history.admin, filters=selectors.Filters(period="7d"), now=now
    )
    hour_rows = ROLLUPS["h"].objects.filter(start__gte=stats.start, start__lt=stats.end)
    assert ROLLUPS["d"].objects.filter(start__gte=stats.start).exists()
    assert stats.total == sum(r.count for r in hour_rows) == sum(r.count for r in stats.series)
    assert stats.records == sum(r.records for r in hour_rows)
    assert [row.count for row in stats.latency] == [
        sum(getattr(r, f"b{i:02d}") for r in hour_rows) for i in range(len(stats.latency))
    ]
    assert sum(r.count for r in stats.by_recipient) == stats.total
    # 13 recent accesses of the fixture plus those of the last 168 hours (the current hour
    # is the period's last bucket)
    assert 13 + 7 <= stats.total <= 13 + 8
