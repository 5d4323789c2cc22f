"""Background work of accounts: the daily user-management run (access reviews opened and
overdue roles suspended; inactivity notices and deactivations). It queues its own next run;
``dagr worker`` makes sure one is queued when it starts (``settings.DAGR_DAILY_TASKS``)."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from . import lifecycle, reviews


def accounts_daily() -> dict[str, int]:
    """One run of the daily user-management work (also ``dagr accounts-daily``)."""
    result = {
        "reviews_opened": reviews.reviews_open_due(),
        "roles_suspended": reviews.reviews_suspend_overdue(),
    }
    result.update(lifecycle.inactive_users_process())
    return result


@task()
def accounts_daily_task() -> dict[str, int]:
    try:
        return accounts_daily()
    finally:
        backend = accounts_daily_task.get_backend()
        if backend.supports_defer:
            accounts_daily_task.using(run_after=timezone.now() + timedelta(days=1)).enqueue()
