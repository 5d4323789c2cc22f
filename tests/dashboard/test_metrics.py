"""/metrics: Prometheus text format, readable from loopback by default, otherwise only with the
configured token or from configured networks."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dagr.audit.access import AuditUnavailable, access_entry_write
from dagr.audit.subjects import subject_index_run
from dagr.dashboard.services import rollups_advance
from dagr.records.models import Load

from .conftest import World, now_plus

pytestmark = pytest.mark.django_db


def samples(response: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = response.content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_loopback_reads_the_metrics(client: Client, history: World) -> None:
    rollups_advance(now=now_plus())
    Load.objects.create(
        dataset=history.persons, source="api", status="succeeded",
        started_at=now_plus(-3600 * 30), finished_at=now_plus(-3600 * 30),
    )  # fmt: skip
    client.get("/")  # one answered page
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    got = samples(response)
    assert got[("dagr_data_requests_total", (("operation", "get"), ("outcome", "ok")))] == 10
    assert got[("dagr_data_requests_total", (("operation", "get"), ("outcome", "denied")))] == 1
    assert got[("dagr_data_request_duration_seconds_count", (("operation", "lookup"),))] == 1
    bucket = "dagr_data_request_duration_seconds_bucket"
    assert got[(bucket, (("le", "0.5"), ("operation", "lookup")))] == 0
    assert got[(bucket, (("le", "1.0"), ("operation", "lookup")))] == 1
    assert got[("dagr_dataset_last_load_age_seconds", (("dataset", "persons"),))] > 24 * 3600
    assert got[("dagr_dataset_never_loaded", (("dataset", "parcels"),))] == 1
    assert ("dagr_webhook_backlog", ()) in got
    assert ("dagr_worker_queue_depth", ()) in got
    assert ("dagr_worker_oldest_task_age_seconds", ()) in got
    assert got[("dagr_stats_rollup_lag_seconds", ())] == 0
    assert got[("dagr_audit_subject_index_lag_seconds", ())] > 0  # the history not yet indexed
    subject_index_run()
    lag = samples(client.get("/metrics"))[("dagr_audit_subject_index_lag_seconds", ())]
    assert lag == 0
    home = [
        v
        for (name, labels), v in got.items()
        if name == "dagr_http_requests_total" and ("route", "/") in labels
    ]
    assert home and home[0] >= 1


def test_other_addresses_need_the_token(client: Client, settings: Any, world: World) -> None:
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    response = client.get("/metrics", **outside)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    settings.DAGR_METRICS_TOKEN = "s3cret-token-for-prometheus"
    assert client.get("/metrics", **outside).status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **outside)
    assert wrong.status_code == 403
    right = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus", **outside
    )
    assert right.status_code == 200 and b"dagr_webhook_backlog" in right.content


def test_configured_networks(client: Client, settings: Any, world: World) -> None:
    settings.DAGR_METRICS_NETWORKS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert client.get("/metrics").status_code == 401  # loopback no longer listed


def test_audit_write_failures_are_counted(
    client: Client, world: World, audit_table_refuses_inserts: None
) -> None:
    def failures() -> float:
        return samples(client.get("/metrics")).get(("dagr_audit_write_failures_total", ()), 0.0)

    before = failures()
    with pytest.raises(AuditUnavailable), transaction.atomic():  # a savepoint to roll back
        access_entry_write(operation="get", outcome="ok", dataset_code="persons")
    assert failures() == before + 1
