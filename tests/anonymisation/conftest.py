"""Fixtures of the test data tests: a provider with a loaded person dataset, media in a
temporary folder, background tasks run at once when the transaction commits. The tests run the
real engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from dagr.accounts.models import Institution, Membership
from dagr.core.actors import SYSTEM
from dagr.core.identifiers import make_old_personal_code
from dagr.records.services import records_upsert
from tests.factories import make_dataset, make_institution, make_user


def persons(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` persons born in 1980 and 1981, every other one (so that the real engine's default
    quasi-identifier, the birth year, gives classes of n/2: 30 persons pass k=5; and one decade:
    a class of n for "birth decade"), each with a valid old-format personal code encoding the
    birth date."""
    return [
        {
            "personal_code": make_old_personal_code(
                date(1980 + i % 2, 1 + i % 12, 1 + i % 28), (start + i) % 1000
            ),
            "last_name": f"Ozoliņa{start + i}",
            "birth_date": f"{1980 + i % 2}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        }
        for i in range(n)
    ]


@dataclass
class World:
    provider: Institution
    user: Any
    dataset: Any


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    provider = make_institution(kind=Institution.Kind.PROVIDER, name="Reģistru iestāde")
    user = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    dataset = make_dataset(provider=provider, code="iedzivotaji", status="production")
    records_upsert(actor=SYSTEM, dataset=dataset, records=persons(30))
    return World(provider, user, dataset)


def decade_settings(dataset: Any, k: int = 5) -> dict[str, Any]:
    """Settings that pass k=5 on ``persons(30)``: birth date seen by decade."""
    return {
        "rules": {},
        "quasi_identifiers": [{"dataset": dataset.code, "path": "birth_date", "level": "decade"}],
        "sensitive": [],
        "k": k,
    }
