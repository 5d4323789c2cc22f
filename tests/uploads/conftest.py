"""Fixtures of the upload tests: a provider with a person dataset, media in a temporary folder,
and background tasks run at once (Django's ImmediateBackend) when the transaction commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dagr.accounts.models import Institution, Membership
from dagr.uploads import services
from tests.factories import make_dataset, make_institution, make_user

GOOD = ("32000000019", "32000000027", "32000000035", "32000000043")


def person_csv(rows: list[tuple[str, str, str]], delimiter: str = ",") -> bytes:
    lines = [delimiter.join(("personal_code", "last_name", "birth_date"))]
    lines += [delimiter.join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> tuple[Any, Any, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    provider = make_institution(kind=Institution.Kind.PROVIDER)
    user = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(provider=provider, code="iedzivotaji")
    return provider, user, dataset


@pytest.fixture
def receive(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Upload through the service like the page does (background checks run on commit)."""

    def run(user: Any, dataset: Any, data: bytes, mode: str = "upsert", name: str = "persons.csv",
            **kw: Any) -> Any:  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            upload = services.upload_receive(
                actor=user, dataset=dataset, file=SimpleUploadedFile(name, data), mode=mode, **kw
            )
        upload.refresh_from_db()
        return upload

    return run


@pytest.fixture
def confirm(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Confirm like the page does; the queued load runs when the confirmation commits."""

    def run(user: Any, upload: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            services.upload_confirm(actor=user, upload=upload)
        upload.refresh_from_db()
        return upload

    return run
