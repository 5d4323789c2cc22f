"""WSGI entry point. API requests (``/api/``) go through a lean middleware stack — no messages,
CSRF middleware (ninja checks CSRF itself for session-authenticated calls), clickjacking, static
files or login throttling — because they are the hot path; every other request gets the full
portal stack of ``settings.MIDDLEWARE``. GET-by-identifier with a token and no session cookie
(the data API's hot path) goes through an even leaner stack (``DataGetHandler``), and without any
cookie it is answered by ``DataGetRoute``: the same view and the same middleware rules without
Django's per-request middleware chain."""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
portal_application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - settings are configured by the line above
from django.conf.urls.i18n import is_language_prefix_patterns_used  # noqa: E402
from django.core.handlers.exception import response_for_exception  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name  # noqa: E402
from django.core.signals import request_started, setting_changed  # noqa: E402
from django.db import connections  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.middleware.csp import ContentSecurityPolicyMiddleware  # noqa: E402
from django.middleware.locale import LocaleMiddleware  # noqa: E402
from django.middleware.security import SecurityMiddleware  # noqa: E402
from django.urls import resolve, set_script_prefix, set_urlconf  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.csp import CSP  # noqa: E402
from django.utils.log import log_response  # noqa: E402

from dagr.core.bodies import chunked_body_with_length  # noqa: E402
from dagr.core.headers import api_headers, rate_limit_end, rate_limit_scope  # noqa: E402
from dagr.core.middleware import (  # noqa: E402
    has_nul,
    request_id_bind,
    request_id_for,
    request_id_unbind,
)
from dagr.dashboard.metrics import request_count  # noqa: E402
from dagr.retrieval import fast  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class ApiHandler(WSGIHandler):
    middleware_setting = "API_MIDDLEWARE"

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = getattr(settings, self.middleware_setting)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class DataGetHandler(ApiHandler):
    """GET-by-identifier (``dagr.retrieval.fast``, token only) without a session cookie: the API
    stack without sessions, authentication and two-factor enforcement, which only ever act on a
    session (``settings.DATA_GET_MIDDLEWARE``): the same answer for a few per cent less CPU
    (``docs/performance.md``). ``tests/retrieval/test_data_get_stack.py`` compares every
    answer with the API stack's."""

    middleware_setting = "DATA_GET_MIDDLEWARE"


api_application = ApiHandler()
data_get_application = DataGetHandler()

# Exactly the URL of ``dagr.retrieval.fast.record_get`` (``<str:…>`` never holds a slash).
_DATA_GET = re.compile(r"/api/v1/data/(?P<code>[^/]+)/records/(?P<field>[^/]+)/(?P<value>[^/]+)")
_SESSION_COOKIE = settings.SESSION_COOKIE_NAME + "="


def _never(request: object) -> HttpResponse:
    raise AssertionError(
        "a middleware of DataGetRoute is only asked for its request/response hooks"
    )


class DataGetRoute:
    """GET-by-identifier with a token and no cookie — the data API's hot path — answered without
    Django's per-request middleware chain and URL resolution (about half of the CPU of a request:
    ``docs/performance.md``), with the very code the ``DATA_GET_MIDDLEWARE`` stack runs:

    - Django's own request object, signals (``request_started``/``request_finished``: the
      database connections' health), URL configuration, exception answers (``response_for_
      exception``) and 4xx/5xx logging (``log_response``); the response object is the view's
      and is returned to the server as Django's handler returns it;
    - the view ``dagr.retrieval.fast.record_get`` itself (token, service, problem+json);
    - of each middleware of that stack, its rule: the request id (``request_id_for``), the
      language (``LocaleMiddleware.process_request``'s choice, Django's
      ``get_language_from_request``, kept per ``Accept-Language`` value), the API headers
      (``api_headers``), the request counters (``request_count``); the headers of
      ``LocaleMiddleware``, CSP and ``SecurityMiddleware`` are the ones their
      ``process_response`` gives a header-less answer for the request's language and scheme,
      taken from them once per (language, https) and reused, since they depend on nothing else
      (the CSP without a nonce); an answer that already carries one of those headers, or a CSP
      with a nonce, gets the middleware called instead.

    Anything else — another method or path, a cookie, a NUL character in the request, another
    middleware list, ``ATOMIC_REQUESTS``, an SSL redirect, language-prefixed URLs — goes to the
    ordinary stacks. ``tests/retrieval/test_data_get_stack.py`` compares every answer (status
    line, headers in order, body, counters) with the API stack's."""

    # The stack whose answers this route gives; any other ``DATA_GET_MIDDLEWARE`` disables it.
    MIDDLEWARE = (
        "dagr.dashboard.metrics.MetricsMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
        "dagr.core.middleware.RequestIdMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "dagr.core.headers.ApiHeadersMiddleware",
        "dagr.core.middleware.ApiProblemMiddleware",
    )
    _OWN = ("vary", "content-language", "x-request-id", "content-security-policy",
            "content-security-policy-report-only", "strict-transport-security",
            "x-content-type-options", "referrer-policy", "cross-origin-opener-policy")  # fmt: skip

    def __init__(self, fallback: WSGIHandler) -> None:
        self.fallback = fallback
        self.reset()
        # What is taken from the settings once is taken again when they change (tests).
        setting_changed.connect(self._setting_changed, weak=False)

    def _setting_changed(self, **_: Any) -> None:
        self.reset()

    def reset(self) -> None:
        self.locale = LocaleMiddleware(_never)
        self.csp = ContentSecurityPolicyMiddleware(_never)
        self.security = SecurityMiddleware(_never)
        csp: tuple[Mapping[str, Any], ...] = (
            settings.SECURE_CSP or {},
            settings.SECURE_CSP_REPORT_ONLY or {},
        )
        self.reuse_headers = not any(CSP.NONCE in v for c in csp for v in c.values())
        self.templates: dict[tuple[str, bool], tuple[list[tuple[str, str]], ...]] = {}
        self.languages: dict[str | None, str] = {}
        self.route = ""
        self._enabled: bool | None = None

    def enabled(self) -> bool:
        if self._enabled is None:  # the URL configuration is loaded on the first request
            self._enabled = (
                tuple(settings.DATA_GET_MIDDLEWARE) == self.MIDDLEWARE
                and not settings.SECURE_SSL_REDIRECT
                and not any(c.settings_dict.get("ATOMIC_REQUESTS") for c in connections.all())
                and not is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]
                and resolve("/api/v1/data/c/records/f/v").func is fast.record_get
            )
        return self._enabled

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = WSGIRequest(environ)
        match = _DATA_GET.fullmatch(request.path_info)
        if match is None or not self.enabled() or has_nul(request):
            return self.fallback(environ, start_response)
        started = time.perf_counter()
        set_script_prefix(get_script_name(environ))
        request_started.send(sender=self.__class__, environ=environ)
        set_urlconf(settings.ROOT_URLCONF)
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]  # read by core.problems
        self._language(request)
        id_token = request_id_bind(request_id)
        rate_token = rate_limit_scope()
        try:
            try:
                response = fast.record_get(request, **match.groupdict())
            except Exception as exc:  # Django's own answer to any exception
                response = response_for_exception(request, exc)
        finally:
            state = rate_limit_end(rate_token)
            request_id_unbind(id_token)
        api_headers(request, response, state)
        headers = self._headers(request, response, request_id)
        status = response.status_code
        if not self.route:
            self.route = "/" + resolve(request.path_info).route
        request_count(self.route, "GET", status, started)
        response._resource_closers.append(request.close)  # type: ignore[attr-defined]  # as Django
        if status >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django
        start_response(f"{status} {response.reason_phrase}", headers)
        return response

    def _language(self, request: WSGIRequest) -> None:
        """``LocaleMiddleware.process_request``. Without a cookie and without language-prefixed
        URLs its choice depends on the ``Accept-Language`` header alone (and the settings), so
        Django's answer is kept per header value (a bounded number of them)."""
        accept = request.META.get("HTTP_ACCEPT_LANGUAGE")
        language = self.languages.get(accept)
        if language is None:
            language = translation.get_language_from_request(request)
            if len(self.languages) < 100:
                self.languages[accept] = language
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()  # as LocaleMiddleware does

    def _headers(
        self, request: WSGIRequest, response: HttpResponse, request_id: str
    ) -> list[tuple[str, str]]:
        if (
            self.reuse_headers
            and not response.cookies
            and not hasattr(response, "_csp_config")
            and not hasattr(response, "_csp_ro_config")
            and all(k.lower() not in self._OWN for k in response.headers)
        ):
            key = (translation.get_language(), request.is_secure())
            template = self.templates.get(key)
            if template is None:
                template = self.templates[key] = self._template(request)
            before, after = template
            return [*response.items(), *before, ("X-Request-ID", request_id), *after]
        self._middleware_headers(request, response, request_id)
        return [
            *response.items(),
            *(("Set-Cookie", c.OutputString()) for c in response.cookies.values()),
        ]

    def _middleware_headers(
        self, request: WSGIRequest, response: HttpResponse, request_id: str
    ) -> None:
        """What the stack's response side adds (innermost first), by the middleware themselves."""
        self.locale.process_response(request, response)
        response["X-Request-ID"] = request_id
        self.csp.process_request(request)  # its nonce (read only by a policy with one)
        self.csp.process_response(request, response)
        self.security.process_response(request, response)

    def _template(self, request: WSGIRequest) -> tuple[list[tuple[str, str]], ...]:
        probe = HttpResponse()
        self._middleware_headers(request, probe, "-")
        added = [(k, v) for k, v in probe.items() if k != "Content-Type"]
        at = [k for k, _v in added].index("X-Request-ID")
        return added[:at], added[at + 1 :]


data_get_route = DataGetRoute(data_get_application)


def _handler(environ: WSGIEnvironment) -> Callable[..., Iterable[bytes]]:
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/api/"):
        return portal_application
    if environ.get("REQUEST_METHOD") == "GET" and _DATA_GET.fullmatch(path):
        cookie = environ.get("HTTP_COOKIE", "")
        if not cookie:
            return data_get_route
        if _SESSION_COOKIE not in cookie:
            return data_get_application
    return api_application


# The largest body any endpoint accepts whole (a portal file upload); a chunked body longer than
# this is declared one byte longer and refused by the endpoint's own size check.
CHUNKED_BODY_LIMIT = max(
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE, getattr(settings, "DAGR_UPLOAD_MAX_BYTES", 0)
)


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    chunked_body_with_length(environ, limit=CHUNKED_BODY_LIMIT)
    return _handler(environ)(environ, start_response)
