"""WSGI entry point. API requests (``/api/``) go through a lean middleware stack — no messages,
CSRF middleware (ninja checks CSRF itself for session-authenticated calls), clickjacking, static
files or login throttling — because they are the hot path; every other request gets the full
portal stack of ``settings.MIDDLEWARE``. GET-by-identifier with a token and no session cookie
(the data API's hot path) goes through an even leaner stack (``DataGetHandler``)."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
portal_application = get_wsgi_application()

from django.conf import settings  # noqa: E402 - settings are configured by the line above
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from dagr.core.bodies import chunked_body_with_length  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterable

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
_DATA_GET = re.compile(r"/api/v1/data/[^/]+/records/[^/]+/[^/]+")
_SESSION_COOKIE = settings.SESSION_COOKIE_NAME + "="


def _handler(environ: WSGIEnvironment) -> WSGIHandler:
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/api/"):
        return portal_application
    if (
        environ.get("REQUEST_METHOD") == "GET"
        and _SESSION_COOKIE not in environ.get("HTTP_COOKIE", "")
        and _DATA_GET.fullmatch(path)
    ):
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
