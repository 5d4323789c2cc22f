"""Domain errors that escape a portal view become the portal's error pages — the ONE place
where services' ``NotFound`` / ``PermissionDenied`` / ``NotAuthenticated`` / other
``DomainError`` meet HTTP for pages (the API maps them in ``config/api.py``). Views only catch a
domain error when they want to show it next to a form instead."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from dagr.core.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied

from . import views


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None

        if isinstance(exception, NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        if isinstance(exception, NotFound):
            return views.error_404(request, exception)
        if isinstance(exception, PermissionDenied):
            return views.error_403(request, exception)
        return views.domain_error(request, exception)
