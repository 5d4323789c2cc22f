"""Background work of connectors: one hosted run. Takes ids, calls one service."""

from __future__ import annotations

from django.tasks import task


@task()
def connector_run_task(
    *, connector_id: int, trigger: str, actor_id: int | None, confirm_deletions: int | None = None
) -> str:
    # services queue this task, so a top-level import of them would be an import cycle
    from dagr.accounts.models import User
    from dagr.core.actors import SYSTEM
    from dagr.core.errors import Conflict

    from .models import Connector
    from .services import run_hosted

    connector = Connector.objects.select_related("dataset").get(pk=connector_id)
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        return run_hosted(
            actor=actor or SYSTEM,
            connector=connector,
            trigger=trigger,
            confirm_deletions=confirm_deletions,
        ).status
    except Conflict:
        return "skipped"
