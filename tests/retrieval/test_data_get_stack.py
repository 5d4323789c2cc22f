"""GET-by-identifier without a session cookie is served by ``config.wsgi.data_get_application``:
the API's middleware stack without sessions, authentication and two-factor enforcement (they
only ever act on a session). Every answer must be the one the full API stack
(``config.wsgi.api_application``) gives: status line, every header (the request id aside) and
body — so each case sends the same WSGI request to both applications and compares."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import RequestFactory

from config import wsgi
from dagr.connections.tokens import token_encode

from .factories import World, make_world
from .test_fast_twin import CASES, _quota_used_up, path

pytestmark = pytest.mark.django_db

Answer = tuple[str, list[tuple[str, str]], bytes]


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


def both(url: str, headers: dict[str, str]) -> tuple[Answer, Answer]:
    environ = _environ(url, headers)
    assert wsgi._handler(environ) is wsgi.data_get_application
    return call(wsgi.data_get_application, dict(environ)), call(wsgi.api_application, environ)


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
    lean, full = both(url, headers)
    assert lean[0].startswith("429 ") and b'"quota_exceeded"' in lean[2]
    assert lean == full


def test_audit_unavailable_is_answered_alike(audit_table_refuses_inserts):
    w = make_world()
    lean, full = both(path(w), w.headers())
    assert lean[0].startswith("503 ")
    assert lean == full


def test_only_the_token_get_without_a_session_takes_the_lean_stack():
    url = "/api/v1/data/some-dataset/records/personal_code/010101-10006"
    assert wsgi._handler(_environ(url, {})) is wsgi.data_get_application
    session = {"HTTP_COOKIE": f"a=1; {settings.SESSION_COOKIE_NAME}=abc"}
    assert wsgi._handler(_environ(url, session)) is wsgi.api_application
    assert wsgi._handler(_environ(url, {}, method="POST")) is wsgi.api_application
    assert wsgi._handler(_environ(url + "/more", {})) is wsgi.api_application
    assert wsgi._handler(_environ("/api/v1/data/some-dataset/records", {})) is (
        wsgi.api_application
    )
    assert wsgi._handler(_environ("/datasets/", {})) is wsgi.portal_application
