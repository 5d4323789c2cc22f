"""Background work of the CKAN sync: one sync run of a publication. Tasks take ids and call
one service (``services.publication_sync``)."""

from __future__ import annotations

from django.tasks import task


@task()
def publication_sync_task(*, publication_id: int) -> str:
    # services queue this task, so a top-level import of them would be an import cycle
    from .services import publication_sync

    return publication_sync(publication_id)
