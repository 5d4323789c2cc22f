"""Background work of file uploads: the check of a large file and the load of a confirmed one.
Both take ids, call one service, and run inline in tests."""

from __future__ import annotations

from django.tasks import task

from dagr.accounts.models import User
from dagr.core.actors import SYSTEM


@task()
def upload_check_task(*, upload_id: int) -> str:
    # services queue this task, so a top-level import of them would be an import cycle
    from .services import upload_check

    return upload_check(upload_id=upload_id).status


@task()
def upload_load_task(
    *, upload_id: int, actor_id: int | None, confirm_deletions: int | None = None
) -> str:
    from .services import upload_load  # lazy for the same reason

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return upload_load(
        upload_id=upload_id, actor=actor or SYSTEM, confirm_deletions=confirm_deletions
    ).status
