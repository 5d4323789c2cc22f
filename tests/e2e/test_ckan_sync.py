"""Publishing to the open data portal through the real server and worker: the provider saves
the CKAN settings and presses "publish" in the portal (session + CSRF); the worker of
``dagr serve`` sends the dataset's DCAT-AP description to the CKAN stand-in on loopback."""

from __future__ import annotations

import re
import time

import pytest

from tests.ckan.standin import serving
from tests.conftest import TEST_PASSWORD
from tests.e2e import data
from tests.e2e.conftest import Browser
from tests.e2e.test_portal_upload import csrf_of

pytestmark = pytest.mark.e2e
TOKEN = "e2e-ckan-token-5b8c0d2e"


@pytest.fixture
def ckan():
    with serving() as standin:
        standin.add_organization("e2e-org")
        standin.add_token(TOKEN, user="e2e", organizations=["e2e-org"])
        yield standin


def test_publish_reaches_the_portal_through_the_worker(dagr_server, ckan):
    browser = Browser(dagr_server)
    login_page = browser.request("GET", "/accounts/login/")
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
    overview = browser.request("GET", "/open-data-portal/")
    assert overview.status == 200, overview.body[:2000]
    found = re.search(rb"/open-data-portal/institutions/(\d+)/", overview.body)
    assert found, overview.body[:3000]
    settings_url = found.group(0).decode()
    form = browser.request("GET", settings_url)
    saved = browser.request(
        "POST",
        settings_url,
        fields={
            "base_url": ckan.url,
            "organization": "e2e-org",
            "token": TOKEN,
            "csrfmiddlewaretoken": csrf_of(form.body),
        },
        encode_multipart=False,
    )
    assert saved.status == 302, saved.body[:3000]
    page_url = f"/open-data-portal/datasets/{data.OPEN_DATA}/"
    page = browser.request("GET", page_url)
    assert page.status == 200, page.body[:2000]
    published = browser.request(
        "POST",
        page_url,
        fields={"package_name": data.OPEN_DATA, "csrfmiddlewaretoken": csrf_of(page.body)},
        encode_multipart=False,
    )
    assert published.status == 302, published.body[:3000]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not ckan.packages:
        time.sleep(0.3)
    assert ckan.packages, "the worker sent nothing to the portal"
    [package] = ckan.packages.values()
    assert package["name"] == data.OPEN_DATA and package["state"] == "active"
    assert package["uri"].endswith(f"/catalog/{data.OPEN_DATA}/#dataset")
    assert package["resources"]
    assert all(r.headers.get("authorization") == TOKEN for r in ckan.requests)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = browser.request("GET", page_url)
        if b"badge-published" in page.body:
            break
        time.sleep(0.3)
    assert b"badge-published" in page.body
    assert TOKEN.encode() not in page.body
