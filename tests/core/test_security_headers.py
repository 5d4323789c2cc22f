"""HTTPS settings (HSTS, Secure cookies) by deployment, and the Content-Security-Policy header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "HTTPS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
]


def settings_with(tmp_path: Path, **env: str) -> dict:
    """The settings module as a fresh process with this environment would load it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAGR_")}
    base |= {"DAGR_VAR_DIR": str(tmp_path), "DAGR_SECRET_KEY": "x" * 50} | env
    code = (
        "import json, config.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {NAMES!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_production_like_environment_gets_hsts_and_secure_cookies(tmp_path):
    values = settings_with(
        tmp_path,
        DAGR_SITE_URL="https://dati.example.lv",
        DAGR_ALLOWED_HOSTS="dati.example.lv",
        DAGR_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    assert values["HTTPS"] is True
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["LANGUAGE_COOKIE_SECURE"]
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    # A plain-http site URL on a network address is not "local" either: still on by default.
    assert settings_with(tmp_path, DAGR_SITE_URL="http://10.0.0.5:8000")["HTTPS"] is True


@pytest.mark.parametrize(
    "env",
    [
        {},  # `make run`: the default site URL http://127.0.0.1:8000
        {"DAGR_SITE_URL": "http://localhost:8800"},
        {"DAGR_SITE_URL": "http://[::1]:8000"},
        {"DAGR_SITE_URL": "https://dati.example.lv", "DAGR_DEBUG": "1"},
        {"DAGR_SITE_URL": "https://dati.example.lv", "DAGR_HTTPS": "off"},
    ],
)
def test_local_or_switched_off_installation_keeps_plain_http_cookies(tmp_path, env):
    values = settings_with(tmp_path, **env)
    assert values["HTTPS"] is False
    assert not values["SESSION_COOKIE_SECURE"] and not values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None


def test_https_can_be_forced_on_for_a_loopback_site_url(tmp_path):
    values = settings_with(tmp_path, DAGR_HTTPS="on")
    assert values["HTTPS"] is True and values["SECURE_HSTS_SECONDS"] > 0


@pytest.mark.django_db
def test_secure_settings_put_hsts_and_secure_cookies_on_an_https_login(client, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    make_user(email="anna@example.lv")
    response = client.post(
        "/accounts/login/",
        {"username": "anna@example.lv", "password": TEST_PASSWORD},
        secure=True,
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/catalog/", "/accounts/login/", "/api/v1/docs"])
def test_every_page_carries_the_strict_content_security_policy(client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    body = response.content.decode()
    assert "style=" not in body
    # Only JSON data blocks may be inline <script> elements (no executable inline script).
    for chunk in body.split("<script")[1:]:
        tag = chunk.split(">", 1)[0]
        assert "src=" in tag or 'type="application/json"' in tag, tag
