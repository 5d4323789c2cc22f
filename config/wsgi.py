"""WSGI entry point. API requests (``/api/``) go through a lean middleware stack — no messages,
CSRF middleware (ninja checks CSRF itself for session-authenticated calls), clickjacking, static
files or login throttling — because they are the hot path; every other request gets the full
portal stack of ``settings.MIDDLEWARE``."""

from __future__ import annotations

import os
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
    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


api_application = ApiHandler()


# The largest body any endpoint accepts whole (a portal file upload); a chunked body longer than
# this is declared one byte longer and refused by the endpoint's own size check.
CHUNKED_BODY_LIMIT = max(
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE, getattr(settings, "DAGR_UPLOAD_MAX_BYTES", 0)
)


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    chunked_body_with_length(environ, limit=CHUNKED_BODY_LIMIT)
    handler = api_application if environ.get("PATH_INFO", "").startswith("/api/") else None
    return (handler or portal_application)(environ, start_response)
