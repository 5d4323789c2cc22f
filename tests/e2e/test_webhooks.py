"""A webhook delivery through the real server and worker: a record set watching one person, its
webhook on a loopback receiver, a provider load that changes the person → a signed POST."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook

from tests.e2e import data
from tests.monitoring.webhook_receiver import serving

pytestmark = pytest.mark.e2e


@pytest.fixture
def loopback_receiver():
    with serving(path="/hook") as box:
        yield box


def test_webhook_delivery_is_signed(dagr_server, loopback_receiver):
    person, other = data.persons(2, serial=8000)
    created = dagr_server.request(
        "POST",
        "/api/v1/record-sets",
        token="recipient",
        json_body={
            "dataset": data.WATCH,
            "permission_number": data.GRANTS[data.WATCH],
            "name": "E2E uzraudzība",
            "identifier_field": "personal_code",
        },
    )
    assert created.status == 201, created.body
    record_set = created.json()["id"]
    watched = dagr_server.request(
        "POST",
        f"/api/v1/record-sets/{record_set}/identifiers",
        token="recipient",
        json_body={"add": [person["personal_code"]]},
    )
    assert watched.status == 200, watched.body
    hook = dagr_server.request(
        "PUT",
        f"/api/v1/record-sets/{record_set}/webhook",
        token="recipient",
        json_body={"url": loopback_receiver.url},
    )
    assert hook.status == 201, hook.body
    secret = hook.json()["secret"]

    load = dagr_server.request(
        "POST",
        f"/api/v1/provider/datasets/{data.WATCH}/records",
        token="provider",
        json_body=[person, other],
    )
    assert load.status == 200, load.body

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not loopback_receiver.requests:
        time.sleep(0.2)
    assert loopback_receiver.requests, "no webhook delivery arrived"
    delivery = loopback_receiver.requests[0]
    assert delivery.path == "/hook"
    Webhook(secret).verify(delivery.body, delivery.headers)  # raises on a bad signature
    body = json.loads(delivery.body)
    assert person["personal_code"] in json.dumps(body)
    assert other["personal_code"] not in json.dumps(body)  # not watched
