"""Background work of retrieval: the daily re-check of relative-date conditions for the change
feeds (``recheck.feeds_recheck``). The task schedules its own next run; ``dagr worker`` makes
sure one run is queued when it starts (``settings.DAGR_DAILY_TASKS``)."""

from __future__ import annotations

from django.tasks import task

from .recheck import feeds_recheck, next_run


@task()
def feeds_recheck_task() -> dict[str, int]:
    try:
        return feeds_recheck()
    finally:
        backend = feeds_recheck_task.get_backend()
        if backend.supports_defer:
            feeds_recheck_task.using(run_after=next_run()).enqueue()
