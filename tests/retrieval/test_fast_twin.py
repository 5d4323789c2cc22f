"""GET-by-identifier is served by a hand-written view (``dagr/retrieval/fast.py``) ahead of its
django-ninja twin (``dagr/retrieval/api.py``), which stays for the OpenAPI document. The twin
must answer exactly like the view — so every answer of the view, for every status, is compared
with the twin's (reached through a URL configuration without the hand-written view): status,
body, and every header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test.utils import override_settings
from django.urls import resolve

from dagr.retrieval import fast

from .factories import World, make_world, set_grant

pytestmark = pytest.mark.django_db
BASE = "/api/v1/data"
NINJA_URLCONF = "tests.retrieval.ninja_urls"
# Headers that differ between any two requests, whoever answers them.
PER_REQUEST = {"x-request-id"}


def path(w: World, field: str = "registration_number", value: str = "40000000002") -> str:
    return f"{BASE}/{w.dataset.code}/records/{field}/{value}"


def answer(response: Any) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers, with the request's own id (header and problem body) masked."""
    request_id = response.get("X-Request-ID", "")
    body = response.content
    if response.status_code >= 400:
        assert request_id and request_id.encode() in body  # problem+json carries it
    if request_id:
        body = body.replace(request_id.encode(), b"<request id>")
    headers = {k.lower(): v for k, v in response.items() if k.lower() not in PER_REQUEST}
    return response.status_code, body, headers


def both(client: Any, method: str, url: str, **extra: Any) -> tuple[Any, Any]:
    """The same request to the hand-written view and to the ninja operation. Each runs in its
    own savepoint: a database error inside one (the broken audit table) is rolled back with it
    instead of breaking the test's transaction for the other."""
    assert resolve(url).func is fast.record_get
    with transaction.atomic():
        fast_answer = getattr(client, method)(url, **extra)
    with override_settings(ROOT_URLCONF=NINJA_URLCONF), transaction.atomic():
        assert resolve(url).func is not fast.record_get  # the ninja operation
        ninja_answer = getattr(client, method)(url, **extra)
    return fast_answer, ninja_answer


def _ok(w: World) -> tuple[str, dict[str, str]]:
    return path(w), w.headers()


def _nested_identifier(w: World) -> tuple[str, dict[str, str]]:
    return path(w, "board_members.personal_code", "P-SHARED"), w.headers()


def _no_token(w: World) -> tuple[str, dict[str, str]]:
    return path(w), {"HTTP_X_PERMISSION_NUMBER": "ATL-1"}


def _bad_token(w: World) -> tuple[str, dict[str, str]]:
    return path(w), {"HTTP_AUTHORIZATION": "Bearer nonsense", "HTTP_X_PERMISSION_NUMBER": "ATL-1"}


def _basic_auth(w: World) -> tuple[str, dict[str, str]]:
    return path(w), {"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==", "HTTP_X_PERMISSION_NUMBER": "1"}


def _provider_connection(w: World) -> tuple[str, dict[str, str]]:
    return path(w), {
        "HTTP_AUTHORIZATION": f"Bearer {w.tokens['provider']}",
        "HTTP_X_PERMISSION_NUMBER": "ATL-1",
    }


def _unknown_number(w: World) -> tuple[str, dict[str, str]]:
    return path(w), w.headers("NO-SUCH")


def _revoked(w: World) -> tuple[str, dict[str, str]]:
    set_grant(w.grant, status="revoked")
    return path(w), w.headers()


def _no_number(w: World) -> tuple[str, dict[str, str]]:
    return path(w), w.headers(None)


def _no_record(w: World) -> tuple[str, dict[str, str]]:
    return path(w, value="49999999999"), w.headers()


def _outside_the_conditions(w: World) -> tuple[str, dict[str, str]]:
    return path(w, value="40000000021"), w.headers()  # inactive: outside the grant


def _no_dataset(w: World) -> tuple[str, dict[str, str]]:
    return f"{BASE}/no-such-dataset/records/registration_number/1", w.headers()


def _bad_purpose(w: World) -> tuple[str, dict[str, str]]:
    return path(w), w.headers(**{"X-Purpose": "%E2%82"})


def _unknown_field(w: World) -> tuple[str, dict[str, str]]:
    return path(w, "name", "SIA"), w.headers()


def _too_long_value(w: World) -> tuple[str, dict[str, str]]:
    return path(w, value="9" * 300), w.headers()


def _quota_used_up(w: World) -> tuple[str, dict[str, str]]:
    set_grant(w.grant, quota=1)
    return path(w), w.headers()


CASES: dict[str, tuple[Callable[[World], tuple[str, dict[str, str]]], int]] = {
    "ok": (_ok, 200),
    "nested identifier": (_nested_identifier, 200),
    "no token": (_no_token, 401),
    "bad token": (_bad_token, 401),
    "basic auth": (_basic_auth, 401),
    "provider connection": (_provider_connection, 403),
    "unknown permission number": (_unknown_number, 403),
    "revoked grant": (_revoked, 403),
    "no permission number": (_no_number, 400),
    "no record": (_no_record, 404),
    "record outside the conditions": (_outside_the_conditions, 404),
    "no dataset": (_no_dataset, 404),
    "bad purpose": (_bad_purpose, 400),
    "not an identifier field": (_unknown_field, 422),
    "value too long": (_too_long_value, 422),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_twin_answers_like_the_hot_path(client, case, language):
    w = make_world()
    setup, status = CASES[case]
    url, headers = setup(w)
    fast_answer, ninja_answer = both(client, "get", url, HTTP_ACCEPT_LANGUAGE=language, **headers)
    assert fast_answer.status_code == status, fast_answer.content
    assert answer(fast_answer) == answer(ninja_answer)


def test_quota_exceeded_is_answered_alike(client):
    w = make_world()
    url, headers = _quota_used_up(w)
    assert client.get(url, **headers).status_code == 200  # the day's one request
    fast_answer, ninja_answer = both(client, "get", url, **headers)
    assert fast_answer.status_code == 429, fast_answer.content
    assert fast_answer.json()["code"] == "quota_exceeded"
    assert answer(fast_answer) == answer(ninja_answer)


def test_audit_unavailable_is_answered_alike(client, audit_table_refuses_inserts):
    w = make_world()
    fast_answer, ninja_answer = both(client, "get", path(w), **w.headers())
    assert fast_answer.status_code == 503, fast_answer.content
    assert answer(fast_answer) == answer(ninja_answer)


def test_other_methods_are_answered_alike(client):
    """Same status, body, ``Allow`` and content headers; the one known difference (kept as it
    is, and pinned here so a change is noticed): ninja's 405 leaves out ``X-Frame-Options`` and
    ``Content-Length``, which the hand-written view's answer gets from the middleware."""
    w = make_world()
    fast_answer, ninja_answer = both(client, "post", path(w), **w.headers())
    assert fast_answer.status_code == 405 and fast_answer["Allow"] == "GET"
    fast_status, fast_body, fast_headers = answer(fast_answer)
    ninja_status, ninja_body, ninja_headers = answer(ninja_answer)
    assert (fast_status, fast_body) == (ninja_status, ninja_body)
    assert set(fast_headers) - set(ninja_headers) == {"x-frame-options", "content-length"}
    assert {k: v for k, v in fast_headers.items() if k in ninja_headers} == ninja_headers
