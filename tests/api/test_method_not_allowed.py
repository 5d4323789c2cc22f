"""A method the API path does not offer is 405 problem+json ``method_not_allowed`` with an
``Allow`` header — from ninja's routes, the hand-written hot path and either middleware stack
(the test client's portal stack and ``config.wsgi``'s lean API stack)."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def assert_405(response: Any, allow: set[str], path: str) -> None:
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert {m.strip() for m in response["Allow"].split(",")} == allow
    body = orjson.loads(response.content)
    assert body["code"] == "method_not_allowed" and body["status"] == 405
    assert body["instance"] == path and body["title"]
    for method in allow:
        assert method in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("put", "/api/v1/catalog/datasets", {"GET"}),
        ("patch", "/api/v1/catalog/datasets", {"GET"}),
        ("delete", "/api/v1/provider/datasets", {"GET"}),
        ("put", "/api/v1/provider/datasets/x/records", {"POST"}),
        ("FOO", "/api/v1/data/grants", {"GET"}),
        ("put", "/api/v1/data/x/records/a/b", {"GET"}),  # the hand-written hot path
    ],
)
def test_an_unsupported_method_is_a_problem_with_allow(client, method, path, allow):
    response = client.generic(method.upper(), path)
    assert_405(response, allow, path)


def test_the_api_stack_of_the_wsgi_entry_point_answers_the_same():
    from config.wsgi import application

    environ = RequestFactory().generic("PATCH", "/api/v1/catalog/datasets").environ
    environ["wsgi.input"] = io.BytesIO(b"")
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured["status"], captured["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response))
    assert captured["status"].startswith("405")
    assert captured["headers"]["Content-Type"] == "application/problem+json"
    assert captured["headers"]["Allow"] == "GET"
    assert orjson.loads(body)["code"] == "method_not_allowed"
