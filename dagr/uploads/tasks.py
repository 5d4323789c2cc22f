from __future__ import annotations

from django.tasks import task

from dagr.core.actors import SYSTEM


@task()
def upload_load_task(*, upload_id: int, actor_id: int | None) -> str:
    from dagr.accounts.models import User

    from .services import upload_load

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return upload_load(upload_id=upload_id, actor=actor or SYSTEM).status
