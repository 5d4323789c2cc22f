"""The rollup task: folds new access entries into the statistics, then queues its own next run
``DAGR_STATS_INTERVAL_S`` seconds later (the worker queues the first run at start-up, through
``DAGR_DAILY_TASKS``: every task there reschedules itself)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from .services import rollups_advance


@task()
def rollups_advance_task() -> int:
    try:
        return rollups_advance()
    finally:
        backend = rollups_advance_task.get_backend()
        if backend.supports_defer:
            after = timezone.now() + timedelta(seconds=settings.DAGR_STATS_INTERVAL_S)
            rollups_advance_task.using(run_after=after).enqueue()
