from datetime import timedelta

import pytest
from django.utils import timezone

from dagr.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_missing_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["worker"]["ok"] is False
    assert body["ok"] is False


def test_healthz_sees_a_live_worker_but_not_a_stale_one(client):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w1", hostname="h", pid=1, started_at=now, last_seen=now
    )
    assert client.get("/healthz").json()["worker"]["ok"] is True
    WorkerHeartbeat.objects.update(last_seen=now - timedelta(minutes=5))
    assert client.get("/healthz").json()["worker"]["ok"] is False


def test_home_is_public_and_latvian_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'lang="lv"' in response.content
