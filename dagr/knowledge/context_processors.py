"""The link to the article explaining the current portal page ("Help for this page"), read by
``base.html``: the page's URL name (``request.resolver_match.view_name``) → the article whose
front matter lists it under ``pages:`` (an in-process map, no query per page view)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .selectors import article_for_page


def page_help(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    view_name = getattr(match, "view_name", None)
    if not view_name or view_name.startswith("knowledge:"):
        return {"page_help_slug": None}
    return {"page_help_slug": article_for_page(view_name, getattr(request, "user", None))}
