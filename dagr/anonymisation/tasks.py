"""Background work of test data: building a release. Takes the id, calls one service."""

from __future__ import annotations

from django.tasks import task


@task()
def release_build_task(*, release_id: int) -> str:
    # services queue this task, so a top-level import of them would be an import cycle
    from .services import release_build

    return release_build(release_id=release_id).status
