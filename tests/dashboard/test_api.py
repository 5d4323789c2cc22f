"""The statistics API (/api/v1/audit/stats/requests): the same figures and filters as the page,
for provider and recipient systems and portal sessions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dagr.dashboard.services import rollups_advance

from .conftest import World, now_plus

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/stats/requests"


@pytest.fixture
def rolled(history: World) -> World:
    rollups_advance(now=now_plus())
    return history


def call(client: Client, token: str | None, **params: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(URL, params, **headers)


def test_anonymous_callers_are_refused(client: Client, rolled: World) -> None:
    response = call(client, None)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert call(client, "not-a-token").status_code == 401


def test_a_provider_system_sees_its_datasets(client: Client, rolled: World) -> None:
    body = call(client, rolled.provider_token, period="24h").json()
    assert body["requests"] == 9 and body["grain"] == "h" and len(body["series"]) == 24
    assert {g["label"] for g in body["by_dataset"]} == {"persons"}
    assert body["not_served"] == 1
    assert body["errors"] == [{"status": 404, "outcome": "not_found", "requests": 1}]
    assert body["latency"]["p99_ms"] > 500
    assert sum(b["count"] for b in body["latency"]["buckets"]) == 9


def test_filters_and_scope(client: Client, rolled: World) -> None:
    body = call(client, rolled.provider_token, recipient=rolled.recipient.pk).json()
    assert body["requests"] == 7
    body = call(client, rolled.provider_token, operation="lookup").json()
    assert body["requests"] == 1
    # another provider's dataset is not found, like a missing one
    response = call(client, rolled.provider_token, dataset="parcels")
    assert response.status_code == 404 and response.json()["code"] == "dataset_not_found"
    assert call(client, rolled.other_provider_token, dataset="parcels").json()["requests"] == 4
    assert call(client, rolled.provider_token, period="forever").status_code == 422


def test_a_recipient_system_sees_its_own_use(client: Client, rolled: World) -> None:
    body = call(client, rolled.recipient_token).json()
    assert body["requests"] == 7
    assert [g["label"] for g in body["by_recipient"]] == [rolled.recipient.name]


def test_portal_sessions(client: Client, rolled: World) -> None:
    client.force_login(rolled.admin)
    assert client.get(URL).json()["requests"] == 13
    other = Client()
    other.force_login(rolled.outsider)
    response = other.get(URL)
    assert response.status_code == 403 and response.json()["code"] == "statistics_not_allowed"
