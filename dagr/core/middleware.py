"""Request id: taken from a trusted ``X-Request-ID`` header or generated, echoed back, and
available to services for audit entries. And the API's own answers to a NUL character in the
request and to a 405 (``ApiProblemMiddleware``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token

from django.http import HttpRequest, HttpResponse

from dagr.core.problems import method_not_allowed, nul_in_request

_request_id: ContextVar[str | None] = ContextVar("dagr_request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_request_id() -> str | None:
    return _request_id.get()


def request_id_for(incoming: str) -> str:
    """The request's id: a trusted ``X-Request-ID`` header as sent, or a new one."""
    return incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex


def request_id_bind(request_id: str) -> Token[str | None]:
    """Make ``request_id`` the current one (``current_request_id``) until ``request_id_unbind``."""
    return _request_id.set(request_id)


def request_id_unbind(token: Token[str | None]) -> None:
    _request_id.reset(token)


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]  # read by core.problems
        token = request_id_bind(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_unbind(token)
        response["X-Request-ID"] = request_id
        return response


class ApiProblemMiddleware:
    """Two answers under ``/api/`` that no handler gives:

    - a URL or header with a NUL character (``%00``) is refused with 400 ``nul_character``
      before any view runs: no record, key, code or cursor contains one, and PostgreSQL cannot
      even compare text with it (it was a 500 on ``/catalog/datasets/a%00``);
    - a 405 — ninja answers a known path with an unknown or unsupported method (PUT on a
      GET-only operation, ``FOO``) with a plain-text ``HttpResponseNotAllowed`` and has no hook
      for it — becomes problem+json ``method_not_allowed``, keeping its ``Allow`` header.

    (404s under ``/api/`` are problem+json through ``handler404``; domain errors through
    ``config/api.py``.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if has_nul(request):
            return nul_in_request(request)
        response = self.get_response(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/problem+json"
        ):
            return method_not_allowed(request, allow=response.get("Allow", ""))
        return response


def has_nul(request: HttpRequest) -> bool:
    meta = request.META
    if "\x00" in request.path or "%00" in meta.get("QUERY_STRING", ""):
        return True
    return any("\x00" in v for k, v in meta.items() if k.startswith("HTTP_") and isinstance(v, str))
