"""Notifications through the real server and worker: the grants approved while the server was
set up are in the audit log; the worker's periodic tick (``DAGR_PERIODIC_JOBS``) turns them into
inbox notifications without any web request doing it, and the portal shows them."""

from __future__ import annotations

import time

import pytest

from tests.conftest import TEST_PASSWORD
from tests.e2e import data
from tests.e2e.conftest import Browser
from tests.e2e.test_portal_upload import csrf_of

pytestmark = pytest.mark.e2e


def test_the_worker_fills_the_inbox(dagr_server):
    browser = Browser(dagr_server)
    login_page = browser.request("GET", "/accounts/login/")
    logged_in = browser.request(
        "POST",
        "/accounts/login/",
        fields={
            "username": data.RECIPIENT_EMAIL,
            "password": TEST_PASSWORD,
            "csrfmiddlewaretoken": csrf_of(login_page.body),
        },
        encode_multipart=False,
    )
    assert logged_in.status == 302, logged_in.body[:2000]
    deadline = time.monotonic() + 60
    body = b""
    while time.monotonic() < deadline:
        answer = browser.request("GET", "/notifications/")
        assert answer.status == 200
        body = answer.body
        if "Piekļuve apstiprināta".encode() in body:
            break
        time.sleep(0.5)
    assert "Piekļuve apstiprināta".encode() in body, body[:3000]
    assert "nelasīt".encode() in body  # the header's unread count
