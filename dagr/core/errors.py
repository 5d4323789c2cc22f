"""Domain errors. Services raise these; ``config/api.py`` maps them once to RFC 9457
problem+json, and ``dagr.portal.mixins`` maps them once to portal messages.

Each error has a stable machine ``code`` (part of the API contract), an HTTP status and a
human message that is translated (Latvian first, English second).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

INVALID_REQUEST = _("The request is not valid")


class DomainError(Exception):
    code: str = "error"
    status: int = 400
    title = _("Request cannot be processed")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        self.message = message if message is not None else self.title
        if code:
            self.code = code
        self.errors = errors or []
        self.extra = extra
        super().__init__(str(self.message))

    def headers(self) -> dict[str, str]:
        """HTTP headers of the problem answer (e.g. ``Retry-After``); none by default."""
        return {}


class NotFound(DomainError):
    """Also raised for objects the actor may not see: missing and forbidden look the same."""

    code = "not_found"
    status = 404
    title = _("Not found")


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    title = _("You do not have permission to do this")


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    title = _("Authentication is required")


class ValidationError(DomainError):
    code = "validation_failed"
    status = 422
    title = _("The data is not valid")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = _("The request conflicts with the current state")


class RateLimited(DomainError):
    """Too many attempts from one client or for one account: wait ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429
    title = _("Too many attempts; try again later")

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(code=self.code)
        self.retry_after = retry_after


def reraise_access_error(exc: DomainError) -> None:
    """For a portal view that shows a service's errors next to its form: missing-or-invisible
    (``NotFound``) and forbidden (``PermissionDenied``) are not form errors — they go on to the
    one place that turns them into 404/403 pages (``dagr.portal.middleware``)."""
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
