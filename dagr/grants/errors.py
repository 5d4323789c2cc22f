"""Why a system may not use a grant right now. Each reason has its own stable ``code`` (part of
the API contract); the retrieval API maps them to problem+json through ``config/api.py``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dagr.core.errors import DomainError, PermissionDenied
from dagr.core.headers import quota_retry_after


class GrantUnavailable(PermissionDenied):
    """``grant_missing``, ``grant_expired``, ``grant_revoked``, ``grant_not_yet_valid`` or
    ``grant_invalid`` (its conditions no longer fit the dataset's current schema)."""

    code = "grant_missing"
    title = _("No valid access grant")


MESSAGES = {
    "grant_missing": _(
        "Your institution has no approved access grant for this dataset with this permission "
        "number."
    ),
    "grant_expired": _("The access grant has expired."),
    "grant_revoked": _("The access grant has been revoked."),
    "grant_not_yet_valid": _("The access grant is not valid yet."),
    "grant_invalid": _(
        "The access grant no longer fits the dataset's schema; ask the provider to review it."
    ),
}


def grant_unavailable(code: str) -> GrantUnavailable:
    return GrantUnavailable(MESSAGES[code], code=code)


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status = 429
    title = _("The daily request quota of the access grant is used up")

    def headers(self) -> dict[str, str]:
        return quota_retry_after()  # the quota resets at local midnight
