"""GET-by-identifier without a cookie is answered by ``config.wsgi.data_get_route`` (the view
and the middleware rules without Django's middleware chain); with a cookie but no session cookie
by ``config.wsgi.data_get_application`` (the API's middleware stack without sessions,
authentication and two-factor enforcement, which only ever act on a session). Every answer of
both must be the one the full API stack (``config.wsgi.api_application``) gives: status line,
every header in order (the request id aside), body and request counters — so each case sends
the same WSGI request to all three applications and compares."""

from __future__ import annotations

import io
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import RequestFactory
from django.test.utils import override_settings
from prometheus_client import REGISTRY

from config import wsgi
from dagr.connections.tokens import token_encode

from .factories import World, make_world
from .test_fast_twin import CASES, _quota_used_up, path

pytestmark = pytest.mark.django_db

Answer = tuple[str, list[tuple[str, str]], bytes]
STATUSES = ("200", "400", "401", "403", "404", "422", "429", "500", "503")
ROUTE = "api/v1/data/<str:code>/records/<str:field>/<str:value>"


def _environ(url: str, headers: dict[str, str], method: str = "GET") -> dict[str, Any]:
    environ = dict(RequestFactory().generic(method, url, **headers).environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    return environ


def call(app: Callable[..., Any], environ: dict[str, Any]) -> Answer:
    """One request through a WSGI application, as a server would call it (the connection
    clean-up signals left out, as Django's test client does: the test's transaction stays)."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen.update(status=status, headers=headers)

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with transaction.atomic():
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    request_id = dict(seen["headers"]).get("X-Request-ID", "")
    assert request_id
    headers = [(k, v) for k, v in seen["headers"] if k != "X-Request-ID"]
    return seen["status"], headers, body.replace(request_id.encode(), b"<request id>")


def counted(status: str) -> float:
    """The request counter of the data GET route for ``status`` (what ``bench/lookup.py`` reads
    as the requests answered)."""
    value = REGISTRY.get_sample_value(
        "dagr_http_requests_total",
        {"route": "/" + ROUTE, "method": "GET", "status": status.split()[0]},
    )
    return value or 0.0


def both(url: str, headers: dict[str, str], *, quota_reset: bool = False) -> tuple[Answer, Answer]:
    """The raw route's answer and the API stack's; the lean stack's must equal the API stack's
    too. Each answer is counted once in the request counters. ``quota_reset``: the answers
    carry a quota's reset, masked (it moves with the clock: each answer's is the same second as
    the one before or the next)."""
    environ = _environ(url, headers)
    assert wsgi._handler(environ) is wsgi.data_get_route
    answers = []
    for app in (wsgi.data_get_route, wsgi.data_get_application, wsgi.api_application):
        before = {
            s: counted(s) for s in ("200", "400", "401", "403", "404", "422", "429", "500", "503")
        }
        answers.append(call(app, dict(environ)))
        status = answers[-1][0].split()[0]
        assert counted(status) == before.get(status, 0.0) + 1, app
    if quota_reset:
        masked = [_without_reset(answer) for answer in answers]
        resets = [reset for _answer, reset in masked]
        assert all(0 <= a - b <= 1 for a, b in pairwise(resets)), resets
        answers = [answer for answer, _reset in masked]
    raw, lean, full = answers
    assert lean == full
    return raw, full


def _expired_token(w: World) -> tuple[str, dict[str, str]]:
    connection = w.connection
    token, _ = token_encode(
        connection_id=connection.pk,
        client_id=connection.client_id,
        institution_id=connection.institution_id,
        kind=connection.kind,
        lifetime_s=-120,
    )
    return path(w), {**w.headers(), "HTTP_AUTHORIZATION": f"Bearer {token}"}


STACK_CASES = {**CASES, "expired token": (_expired_token, 401)}


@pytest.mark.parametrize("case", list(STACK_CASES))
@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_lean_stack_answers_like_the_api_stack(case, language):
    w = make_world()
    setup, status = STACK_CASES[case]
    url, headers = setup(w)
    lean, full = both(url, {**headers, "HTTP_ACCEPT_LANGUAGE": language})
    assert lean[0].startswith(f"{status} "), lean
    assert lean == full


def test_quota_exceeded_is_answered_alike():
    w = make_world()
    url, headers = _quota_used_up(w)
    assert call(wsgi.api_application, _environ(url, headers))[0].startswith("200 ")
    lean, full = both(url, headers, quota_reset=True)
    assert lean[0].startswith("429 ") and b'"quota_exceeded"' in lean[2]
    assert lean == full


def _without_reset(answer: Answer) -> tuple[Answer, int]:
    """The answer with its quota reset (``Retry-After``, ``RateLimit`` ``t=``) masked, and it."""
    status, headers, body = answer
    reset = int(dict(headers)["Retry-After"])
    masked = [
        (name, value.replace(f"t={reset}", "t=<reset>") if name == "RateLimit" else "<reset>")
        if name in ("Retry-After", "RateLimit")
        else (name, value)
        for name, value in headers
    ]
    assert ("RateLimit", '"daily";r=0;t=<reset>') in masked, headers
    return (status, masked, body), reset


def test_audit_unavailable_is_answered_alike(audit_table_refuses_inserts):
    w = make_world()
    lean, full = both(path(w), w.headers())
    assert lean[0].startswith("503 ")
    assert lean == full


@pytest.mark.parametrize(
    "accept", ["", "lv", "en", "en-US,en;q=0.9", "de, en;q=0.5", "de", "*", "LV", "en-gb", "x;;q"]
)
def test_every_accept_language_is_answered_alike(accept):
    w = make_world()
    for url, headers in (path(w), w.headers()), (path(w), {}):
        raw, full = both(url, {**headers, "HTTP_ACCEPT_LANGUAGE": accept})
        assert raw == full


def test_a_changed_default_language_and_https_are_answered_alike():
    """What the route takes from the settings once is taken again when they change; an https
    request gets its own copy of the security headers."""
    w = make_world()
    with override_settings(LANGUAGE_CODE="en"):
        raw, full = both(path(w), {**w.headers(), "HTTP_ACCEPT_LANGUAGE": ""})
        assert ("Content-Language", "en") in raw[1]
        assert raw == full
    raw, full = both(path(w), {**w.headers(), "wsgi.url_scheme": "https"})
    assert raw == full


def test_a_request_id_sent_is_echoed_alike():
    w = make_world()
    environ = _environ(path(w), {**w.headers(), "HTTP_X_REQUEST_ID": "abc-123"})
    seen = []
    for app in (wsgi.data_get_route, wsgi.api_application):
        app_environ = dict(environ)
        result = app(app_environ, lambda s, h, e=None: seen.append(dict(h)["X-Request-ID"]))
        result.close()
    assert seen == ["abc-123", "abc-123"]


def test_an_unexpected_error_is_answered_alike(monkeypatch):
    """Django's own answer to an exception in the view (``handler500``), with every header."""
    w = make_world()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr("dagr.retrieval.services.record_get", broken)
    raw, full = both(path(w), w.headers())
    assert raw[0].startswith("500 ")
    assert raw == full


def test_the_raw_route_is_on_for_these_settings():
    assert wsgi.data_get_route.enabled()


def test_unusual_requests_leave_the_raw_route_to_django():
    url = "/api/v1/data/some-dataset/records/personal_code/010101-10006"
    assert wsgi._handler(_environ(url, {})) is wsgi.data_get_route
    assert wsgi._handler(_environ(url, {"HTTP_COOKIE": "dagr_language=en"})) is (
        wsgi.data_get_application
    )
    w = make_world()
    for environ in (
        _environ(path(w) + "%00", w.headers()),
        _environ(path(w), {**w.headers(), "HTTP_X_PURPOSE": "a\x00b"}),
    ):
        raw = call(wsgi.data_get_route, dict(environ))
        assert raw[0].startswith("400 ") and b"nul_character" in raw[2]
        assert raw == call(wsgi.api_application, environ)


def test_only_the_token_get_without_a_session_takes_the_lean_stack():
    url = "/api/v1/data/some-dataset/records/personal_code/010101-10006"
    assert wsgi._handler(_environ(url, {"HTTP_COOKIE": "a=1"})) is wsgi.data_get_application
    session = {"HTTP_COOKIE": f"a=1; {settings.SESSION_COOKIE_NAME}=abc"}
    assert wsgi._handler(_environ(url, session)) is wsgi.api_application
    assert wsgi._handler(_environ(url, {}, method="POST")) is wsgi.api_application
    assert wsgi._handler(_environ(url + "/more", {})) is wsgi.api_application
    assert wsgi._handler(_environ("/api/v1/data/some-dataset/records", {})) is (
        wsgi.api_application
    )
    assert wsgi._handler(_environ("/datasets/", {})) is wsgi.portal_application
