from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dagr.permissions import rules


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "is_portal_admin": rules.is_portal_admin(user),
        "dagr_version": "0.1.0",
    }
