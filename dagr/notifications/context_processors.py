"""The unread count shown in the portal header (one indexed COUNT per signed-in page view)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .selectors import unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    return {"unread_notifications": unread_count(getattr(request, "user", None))}
