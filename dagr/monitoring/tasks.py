"""Background work of change monitoring: delivering a subscription's changes to its webhook.
Tasks take ids and call one service (``dagr.monitoring.deliveries``)."""

from __future__ import annotations

from django.tasks import task


@task()
def subscription_dispatch_task(*, subscription_id: int) -> int:
    # services queue this task, so a top-level import of them would be an import cycle
    from .deliveries import subscription_dispatch

    return subscription_dispatch(subscription_id)
