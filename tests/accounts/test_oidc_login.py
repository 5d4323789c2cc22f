"""National login (OpenID Connect) against a REAL provider: django-oauth-toolkit in its own
Django project (tests/accounts/oidc_op) served as a subprocess on 127.0.0.1, DAGR as the live
server on localhost (other host name: the two sites' cookies stay apart), and a real HTTP client
(requests) walking the whole authorization-code flow — DAGR's redirect, the provider's login
and authorization, the callback, DAGR's token exchange, ID-token signature check against the
provider's JWKS and the userinfo call, all over HTTP."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import reverse

from dagr.accounts import services
from dagr.accounts.models import Membership, User
from dagr.accounts.oidc import personal_code_hash
from dagr.audit.models import AdminEntry
from dagr.core.actors import SYSTEM
from tests.factories import make_institution, make_user

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "dagr-test"
CLIENT_SECRET = "dagr-test-secret-0123456789"
PERSONAL_CODE = "32123456789"
PEOPLE = {
    "anna": {"personal_code": PERSONAL_CODE, "email": "other@example.lv", "email_verified": True},
    "berta": {"email": "berta@example.lv", "email_verified": True},
    "cilda": {"email": "cilda@example.lv", "email_verified": False},
    "nezinams": {"personal_code": "32999999999", "email": "x@example.lv", "email_verified": True},
}

pytestmark = [pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def provider(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("oidc-op")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGR_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.accounts.oidc_op.settings",
        OP_DB=str(tmp / "op.sqlite3"),
        OP_RSA_KEY=str(tmp / "key.pem"),
        OP_PEOPLE=json.dumps(PEOPLE),
    )
    redirect_uri = live_server.url + "/accounts/oidc/callback/"
    setup = [sys.executable, "-m", "tests.accounts.oidc_op.setup"]
    subprocess.run(
        [*setup, redirect_uri, CLIENT_ID, CLIENT_SECRET], env=env, cwd=ROOT, check=True, timeout=120
    )
    port = _free_port()
    log = (tmp / "op.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(base + "/o/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None:
                raise RuntimeError((tmp / "op.log").read_text())
            time.sleep(0.1)
        else:
            raise RuntimeError("the test OpenID Connect provider did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def national_login(settings: Any, provider: str) -> str:
    settings.DAGR_OIDC_DISCOVERY_URL = provider + "/o/.well-known/openid-configuration"
    settings.DAGR_OIDC_CLIENT_ID = CLIENT_ID
    settings.DAGR_OIDC_CLIENT_SECRET = CLIENT_SECRET
    return provider


def national_login_flow(base: str, who: str, next_url: str = "") -> tuple[requests.Session, Any]:
    """A person clicks "log in with the national login" on DAGR and signs in at the provider."""
    browser = requests.Session()
    start = base + reverse("accounts:oidc_login") + (f"?next={next_url}" if next_url else "")
    to_provider = browser.get(start, allow_redirects=True)  # → the provider's login page
    assert to_provider.status_code == 200 and "Test identity provider" in to_provider.text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', to_provider.text).group(1)
    nxt = re.search(r'name="next" value="([^"]*)"', to_provider.text).group(1)
    back = browser.post(
        to_provider.url,
        data={
            "csrfmiddlewaretoken": csrf,
            "username": who,
            "password": "op-password",
            "next": nxt.replace("&amp;", "&"),
        },
        headers={"Referer": to_provider.url},
        allow_redirects=True,  # provider → authorize → DAGR callback → DAGR page
    )
    return browser, back


def dashboard_ok(base: str, browser: requests.Session) -> bool:
    answer = browser.get(base + reverse("portal:dashboard"), allow_redirects=False)
    return answer.status_code == 200


def test_off_by_default(client):
    assert client.get(reverse("accounts:oidc_login")).status_code == 404
    assert client.get(reverse("accounts:oidc_callback")).status_code == 404
    assert "oidc" not in client.get(reverse("accounts:login")).content.decode()


def test_login_by_personal_code(live_server, national_login):
    institution = make_institution()
    user = make_user(institution=institution, roles=(Membership.Role.RECIPIENT,))
    services.user_set_personal_code(actor=SYSTEM, user=user, personal_code=PERSONAL_CODE)
    stored = User.objects.get(pk=user.pk).personal_code_hash
    assert stored == personal_code_hash(PERSONAL_CODE) and PERSONAL_CODE not in stored
    entry = AdminEntry.objects.get(action="accounts.user.personal_code_set")
    assert PERSONAL_CODE not in json.dumps(entry.changes)
    login_page = requests.get(live_server.url + reverse("accounts:login"), timeout=10).text
    assert reverse("accounts:oidc_login") in login_page
    browser, landed = national_login_flow(live_server.url, "anna")
    assert landed.status_code == 200, landed.text[:500]
    assert landed.url.endswith(reverse("portal:dashboard"))
    assert dashboard_ok(live_server.url, browser)
    assert User.objects.get(pk=user.pk).last_login is not None


def test_login_by_verified_email_only(live_server, national_login):
    make_user(email="berta@example.lv")
    make_user(email="cilda@example.lv")
    browser, _ = national_login_flow(live_server.url, "berta")
    assert dashboard_ok(live_server.url, browser)
    # an e-mail address the provider has not verified does not log anyone in
    browser, landed = national_login_flow(live_server.url, "cilda")
    assert landed.url.endswith(reverse("accounts:login"))
    assert not dashboard_ok(live_server.url, browser)


def test_unknown_person_is_not_created_and_told_why(live_server, national_login):
    before = User.objects.count()
    browser, landed = national_login_flow(live_server.url, "nezinams")
    assert landed.url.endswith(reverse("accounts:login"))
    assert "nav piesaistīta nevienam DAGR kontam" in landed.text
    assert User.objects.count() == before
    assert not dashboard_ok(live_server.url, browser)


def test_blocked_user_is_refused(live_server, national_login):
    make_user(email="berta@example.lv", status=User.Status.BLOCKED)
    browser, landed = national_login_flow(live_server.url, "berta")
    assert landed.url.endswith(reverse("accounts:login"))
    assert not dashboard_ok(live_server.url, browser)


def test_two_factor_code_still_asked(live_server, national_login):
    import pyotp

    from dagr.accounts import twofactor

    user = make_user(email="berta@example.lv")
    device = twofactor.enrolment_start(user=user)
    secret = twofactor.device_secret(device)
    twofactor.enrolment_confirm(user=user, code=pyotp.TOTP(secret).now())
    browser, landed = national_login_flow(live_server.url, "berta")
    assert landed.url.endswith(reverse("accounts:login_code"))
    assert not dashboard_ok(live_server.url, browser)
