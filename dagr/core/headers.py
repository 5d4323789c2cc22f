"""The API's HTTP conventions, in one place (README "API conventions"):

- ``WWW-Authenticate`` on every 401: ``Bearer`` (RFC 6750; ``error="invalid_token"`` when a
  bearer token was sent and is not valid), ``Basic`` on the token endpoint (RFC 6749 §5.2);
- ``Cache-Control: no-store`` on every API answer that may carry personal data — all of
  ``/api/`` except the public catalogue, the API information, the OpenAPI document and Swagger
  UI, which get an ``ETag`` and answer ``If-None-Match`` with 304 instead;
- ``Retry-After`` on 429 and 503 (a domain error states its own through ``retry_after``;
  ``quota_retry_after``: the seconds until a daily quota resets at local midnight);
- ``RateLimit-Policy`` / ``RateLimit`` (IETF draft httpapi-ratelimit-headers, structured-field
  form) on data calls of grants with a daily quota: the quota code notes the state of the
  request's grant with ``rate_limit_note`` and the middleware writes the headers;
- ``Link: <…>; rel="next"`` beside ``next_cursor`` (``link_next``);
- gzip for streamed exports when the client accepts it (``gzip_stream``).

``ApiHeadersMiddleware`` applies what concerns every answer; it costs no query (the hot path of
GET-by-identifier goes through it too).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag
from django.utils.http import urlencode
from django.utils.text import compress_sequence

REALM = "dagr"
TOKEN_PATH = "/api/v1/oauth/token"  # noqa: S105 - a path, not a secret
# Public resources without personal data: cacheable and conditional (ETag / If-None-Match).
PUBLIC_PATHS = ("/api/v1/catalog/", "/api/v1/openapi.json", "/api/v1/docs")
PUBLIC_EXACT = frozenset({"/api/v1/", "/api/v1"})
SERVICE_UNAVAILABLE_RETRY_AFTER = 5  # seconds: the audit store is usually back quickly
DAILY = 86400
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


@dataclass(frozen=True, slots=True)
class RateLimitState:
    quota: int
    remaining: int
    reset: int  # seconds until the quota resets


_rate_limit: ContextVar[RateLimitState | None] = ContextVar("dagr_rate_limit", default=None)


def seconds_to_quota_reset(now: datetime | None = None) -> int:
    """Seconds until the daily quotas reset: the next local midnight (at least 1)."""
    local = timezone.localtime(now)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - local).total_seconds() + 0.999))


def rate_limit_note(*, quota: int, used: int) -> None:
    """The request's grant has a daily ``quota`` of which ``used`` requests are counted."""
    _rate_limit.set(
        RateLimitState(quota=quota, remaining=max(0, quota - used), reset=seconds_to_quota_reset())
    )


def quota_retry_after() -> dict[str, str]:
    return {"Retry-After": str(seconds_to_quota_reset())}


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PATHS)


def link_next(request: HttpRequest, response: HttpResponse, cursor: str | None) -> HttpResponse:
    """``Link: <this URL with cursor=…>; rel="next"`` when there is a next page."""
    if cursor:
        query = request.GET.copy()
        query["cursor"] = cursor
        url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
        response["Link"] = f'<{url}>; rel="next"'
    return response


def accepts_gzip(request: HttpRequest) -> bool:
    """As Django's ``GZipMiddleware`` decides it."""
    return bool(_ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))


def gzip_stream(request: HttpRequest, response: StreamingHttpResponse) -> StreamingHttpResponse:
    """Compress a streamed answer when the client sends ``Accept-Encoding: gzip``."""
    patch_vary_headers(response, ("Accept-Encoding",))
    if accepts_gzip(request):
        content: Iterable[bytes] = response.streaming_content  # type: ignore[assignment]  # WSGI: sync
        response.streaming_content = compress_sequence(content)
        response["Content-Encoding"] = "gzip"
    return response


def www_authenticate(request: HttpRequest) -> str:
    if request.path == TOKEN_PATH:
        return f'Basic realm="{REALM}"'
    scheme, _sep, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return (
            f'Bearer realm="{REALM}", error="invalid_token", '
            'error_description="The access token is not valid"'
        )
    return f'Bearer realm="{REALM}"'


def rate_limit_scope() -> Token[RateLimitState | None]:
    """Start a request's rate-limit note (``rate_limit_note``); ``rate_limit_end`` returns it."""
    return _rate_limit.set(None)


def rate_limit_end(token: Token[RateLimitState | None]) -> RateLimitState | None:
    state = _rate_limit.get()
    _rate_limit.reset(token)
    return state


def api_headers(request: HttpRequest, response: HttpResponse, state: RateLimitState | None) -> None:
    """The headers every non-public API answer gets (``ApiHeadersMiddleware``; also the data
    GET route of ``config/wsgi.py``, which answers without the middleware chain)."""
    status = response.status_code
    if status == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = www_authenticate(request)
    elif status == 503 and "Retry-After" not in response:
        response["Retry-After"] = str(SERVICE_UNAVAILABLE_RETRY_AFTER)
    if state is not None:
        response["RateLimit-Policy"] = f'"daily";q={state.quota};w={DAILY}'
        response["RateLimit"] = f'"daily";r={state.remaining};t={state.reset}'
    if not is_public(request.path):
        response["Cache-Control"] = "no-store"


class ApiHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        token = rate_limit_scope()
        try:
            response = self.get_response(request)
        finally:
            state = rate_limit_end(token)
        api_headers(request, response, state)
        if is_public(request.path):
            return self._conditional(request, response)
        return response

    @staticmethod
    def _conditional(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            request.method in ("GET", "HEAD")
            and response.status_code == 200
            and not response.streaming
        ):
            set_response_etag(response)
            response.setdefault("Cache-Control", "no-cache")
            conditional = get_conditional_response(
                request, etag=response["ETag"], response=response
            )
            if conditional is not None:
                return conditional
        return response
