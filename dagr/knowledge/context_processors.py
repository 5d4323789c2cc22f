"""The link to the article explaining the current portal page ("Help for this page"), read by
``base.html``: the page's URL name (``request.resolver_match.view_name``) → the article whose
front matter lists it under ``pages:`` (an in-process map, no query per page view). The value is
a callable, which the template calls only when it shows the link: error pages (which must render
without a database) set ``page_help_slug`` to ``None`` in their own context, so nothing is read."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest

from .selectors import article_for_page


def page_help(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    view_name = getattr(match, "view_name", None)
    if not view_name or view_name.startswith("knowledge:"):
        return {"page_help_slug": None}
    user = getattr(request, "user", None)

    @cache
    def slug() -> str | None:
        return article_for_page(view_name, user)

    lazy: Callable[[], str | None] = slug
    return {"page_help_slug": lazy}
