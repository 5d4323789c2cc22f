"""The API's HTTP conventions (``dagr.core.headers``, README "API conventions"): each test
names the header a client developer expects and fails without it."""

from __future__ import annotations

import gzip
import re

import pytest

from dagr.audit import access as audit_access
from dagr.audit.access import AuditUnavailable
from dagr.core.headers import seconds_to_quota_reset
from tests.retrieval.factories import make_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"


@pytest.fixture
def w():
    return make_world()


def get_path(w, value: str = "40000000002") -> str:
    return f"{BASE}/{w.dataset.code}/records/registration_number/{value}"


# --- WWW-Authenticate ---------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["/records/registration_number/40000000002", "/records"])
def test_401_without_a_token_challenges_bearer(client, w, tail):
    response = client.get(f"{BASE}/{w.dataset.code}{tail}", HTTP_X_PERMISSION_NUMBER="ATL-1")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="dagr"'


@pytest.mark.parametrize("tail", ["/records/registration_number/40000000002", "/records"])
def test_401_with_a_bad_token_says_invalid_token(client, w, tail):
    response = client.get(
        f"{BASE}/{w.dataset.code}{tail}",
        HTTP_AUTHORIZATION="Bearer not-a-token",
        HTTP_X_PERMISSION_NUMBER="ATL-1",
    )
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="dagr", error="invalid_token"'), challenge


def test_every_401_of_the_provider_and_audit_api_challenges(client, w):
    for path in (f"/api/v1/provider/datasets/{w.dataset.code}/records", "/api/v1/audit/access"):
        response = client.get(path)
        if response.status_code != 401:  # a POST-only path answers 405 to GET
            response = client.post(path, {}, content_type="application/json")
        assert response.status_code == 401, (path, response.status_code)
        assert response["WWW-Authenticate"].startswith("Bearer "), path


def test_token_endpoint_401_challenges_basic(client, w):
    response = client.post(
        "/api/v1/oauth/token",
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="dagr"'


# --- Cache-Control / ETag -----------------------------------------------------------------------


def test_personal_data_is_never_stored_by_caches(client, w):
    answers = [
        client.get(get_path(w), **w.headers()),  # the hand-written hot path
        client.get(get_path(w, "49999999999"), **w.headers()),  # 404
        client.get(f"{BASE}/{w.dataset.code}/records", **w.headers()),
        client.get(f"{BASE}/{w.dataset.code}/changes", **w.headers()),
        client.get(f"{BASE}/{w.dataset.code}/export", **w.headers()),
        client.get(f"{BASE}/grants", **w.headers()),
        client.get("/api/v1/audit/access"),  # 401
    ]
    for response in answers:
        assert response["Cache-Control"] == "no-store", (response.status_code, response)


def test_catalogue_resources_have_an_etag_and_answer_304(client, w):
    for path in (
        "/api/v1/catalog/datasets",
        f"/api/v1/catalog/datasets/{w.dataset.code}",
        f"/api/v1/catalog/datasets/{w.dataset.code}/schema.yaml",
        "/api/v1/openapi.json",
    ):
        first = client.get(path)
        assert first.status_code == 200, path
        assert "no-store" not in first.get("Cache-Control", ""), path
        etag = first["ETag"]
        again = client.get(path, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304, path
        assert again["ETag"] == etag
        assert client.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200


# --- Retry-After, RateLimit ---------------------------------------------------------------------


def test_quota_429_says_when_the_quota_resets(client):
    w = make_world(quota=1)
    assert client.get(get_path(w), **w.headers()).status_code == 200
    response = client.get(get_path(w), **w.headers())
    assert response.status_code == 429
    expected = seconds_to_quota_reset()
    assert 1 <= expected <= 86400
    assert abs(int(response["Retry-After"]) - expected) <= 2
    assert re.fullmatch(r'"daily";r=0;t=\d+', response["RateLimit"])


def test_audit_unavailable_503_has_retry_after(client, w, monkeypatch):
    def broken(**kwargs):
        raise AuditUnavailable()

    monkeypatch.setattr(audit_access, "access_entry_record", broken)
    for path in (get_path(w), f"{BASE}/{w.dataset.code}/records"):
        response = client.get(path, **w.headers())
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0


def test_quota_grants_get_ratelimit_headers(client):
    w = make_world(quota=5)
    for remaining, path in ((4, get_path(w)), (3, f"{BASE}/{w.dataset.code}/records")):
        response = client.get(path, **w.headers())
        assert response.status_code == 200
        assert response["RateLimit-Policy"] == '"daily";q=5;w=86400'
        assert re.fullmatch(rf'"daily";r={remaining};t=\d+', response["RateLimit"])


def test_grants_without_quota_get_no_ratelimit_headers(client, w):
    response = client.get(get_path(w), **w.headers())
    assert response.status_code == 200
    assert "RateLimit" not in response and "RateLimit-Policy" not in response


# --- Link rel="next" ----------------------------------------------------------------------------


def test_paged_answers_link_to_the_next_page(client, w):
    for tail, key in (("/records", "records"), ("/changes", "changes")):
        response = client.get(f"{BASE}/{w.dataset.code}{tail}", {"limit": 2}, **w.headers())
        body = response.json()
        assert body["next_cursor"]
        match = re.fullmatch(r'<(http://testserver/[^>]+)>; rel="next"', response["Link"])
        assert match, response["Link"]
        following = client.get(match.group(1), **w.headers())
        assert following.status_code == 200
        assert following.json()[key] != body[key]
    last = client.get(f"{BASE}/{w.dataset.code}/records", {"limit": 1000}, **w.headers())
    assert last.json()["next_cursor"] is None and "Link" not in last


# --- gzip exports -------------------------------------------------------------------------------


def test_export_is_gzipped_when_asked(client, w):
    path = f"{BASE}/{w.dataset.code}/export"
    plain = client.get(path, {"format": "ndjson"}, **w.headers())
    packed = client.get(path, {"format": "ndjson"}, HTTP_ACCEPT_ENCODING="gzip, br", **w.headers())
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"] and "Accept-Encoding" in plain["Vary"]
    assert gzip.decompress(b"".join(packed.streaming_content)) == b"".join(plain.streaming_content)
