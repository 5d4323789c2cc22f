"""/metrics through the real server: counters of both granian processes add up
(prometheus-client's multi-process mode), and the worker folds data requests into the
statistics that /metrics and the stats API read."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import data

pytestmark = pytest.mark.e2e


def metrics(server) -> dict[tuple[str, frozenset], float]:
    answer = server.request("GET", "/metrics")
    assert answer.status == 200, answer.body
    assert answer.content_type == "text/plain"
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.body.decode())
        for s in family.samples
    }


def healthz_count(server) -> float:
    return sum(
        value
        for (name, labels), value in metrics(server).items()
        if name == "dagr_http_requests_total" and ("route", "/healthz") in labels
    )


def test_request_counters_of_every_process_add_up(dagr_server):
    before = healthz_count(dagr_server)
    for _ in range(30):  # new connections: spread over both web processes
        assert dagr_server.request("GET", "/healthz", headers={"Connection": "close"}).status == 200
    assert healthz_count(dagr_server) - before == 30


def test_data_requests_reach_the_statistics(dagr_server):
    person = data.persons(data.LOOKUP_PERSONS, serial=900_000)[3]
    path = f"/api/v1/data/{data.LOOKUP}/records/personal_code/{person['personal_code']}"
    headers = {"X-Permission-Number": data.GRANTS[data.LOOKUP]}
    found = dagr_server.request("GET", path, token="recipient", headers=headers)
    assert found.status == 200, found.body
    key = ("dagr_data_requests_total", frozenset({("operation", "get"), ("outcome", "ok")}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the worker folds every 2 s what is 5 s old
        got = metrics(dagr_server)
        if got.get(key, 0) >= 1 and got[("dagr_stats_rollup_lag_seconds", frozenset())] < 30:
            break
        time.sleep(1)
    else:
        pytest.fail(f"the data request never reached the statistics: {got.get(key)}")
    stats = dagr_server.request("GET", "/api/v1/audit/stats/requests?period=1h", token="recipient")
    assert stats.status == 200, stats.body
    assert stats.json()["requests"] >= 1
