"""A portal file upload through the real server: the login form (session + CSRF), the upload
form, the check by the worker, the preview, the confirmation and the worker's load."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import TEST_PASSWORD
from tests.e2e import data
from tests.e2e.conftest import Browser

pytestmark = pytest.mark.e2e

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_of(body: bytes) -> str:
    found = CSRF_FIELD.search(body)
    assert found, body[:2000]
    return found.group(1).decode()


def wait_for_status(browser: Browser, pk: int, wanted: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = browser.request("GET", f"/uploads/files/{pk}/progress/")
        assert answer.status == 200, answer.body
        progress = answer.json()
        if progress["status"] == wanted:
            return progress
        time.sleep(0.3)
    raise AssertionError(f"upload {pk} is still {progress['status']}, not {wanted}")


def test_upload_preview_confirm_and_load(dagr_server):
    browser = Browser(dagr_server)
    login_page = browser.request("GET", "/accounts/login/")
    assert login_page.status == 200
    logged_in = browser.request(
        "POST",
        "/accounts/login/",
        fields={
            "username": data.PROVIDER_EMAIL,
            "password": TEST_PASSWORD,
            "csrfmiddlewaretoken": csrf_of(login_page.body),
        },
        encode_multipart=False,
    )
    assert logged_in.status == 302, logged_in.body[:2000]
    assert "sessionid" in browser.cookies

    form = browser.request("GET", f"/uploads/datasets/{data.UPLOAD}/")
    assert form.status == 200, form.body[:2000]
    persons = data.persons(3, serial=7000)
    csv = "personal_code,last_name,birth_date\n" + "".join(
        f"{p['personal_code']},{p['last_name']},{p['birth_date']}\n" for p in persons
    )
    uploaded = browser.request(
        "POST",
        f"/uploads/datasets/{data.UPLOAD}/",
        fields={
            "csrfmiddlewaretoken": csrf_of(form.body),
            "mode": "upsert",
            "encoding": "auto",
            "delimiter": "auto",
            "file": ("personas.csv", csv.encode("utf-8"), "text/csv"),
        },
    )
    assert uploaded.status == 302, uploaded.body[:2000]
    pk = int(re.search(r"/uploads/files/(\d+)/", uploaded.headers["Location"]).group(1))

    wait_for_status(browser, pk, "previewed")  # the worker checked the file
    preview = browser.request("GET", f"/uploads/files/{pk}/")
    assert preview.status == 200
    assert "Nekas vēl nav saglabāts" in preview.body.decode()
    assert dagr_server.live_records(data.UPLOAD) == 0

    confirmed = browser.request(
        "POST",
        f"/uploads/files/{pk}/confirm/",
        fields={"csrfmiddlewaretoken": csrf_of(preview.body)},
        encode_multipart=False,
    )
    assert confirmed.status == 302, confirmed.body[:2000]
    progress = wait_for_status(browser, pk, "loaded")  # the worker loaded it
    assert progress["done"] == 3
    assert dagr_server.live_records(data.UPLOAD) == 3
    assert dagr_server.loads(data.UPLOAD)[0]["source"] == "upload"
