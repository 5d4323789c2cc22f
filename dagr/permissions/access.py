"""Every portal view and API operation declares who may use it.

Views are wrapped by one of ``public``, ``authenticated`` or ``requires(rule)``; the wrapper sets
``view.dagr_access``, and ``tests/permissions/test_every_view_declares_access.py`` walks the URL
configuration and fails for any DAGR view without a declaration. Object-level checks (may this
user edit *this* dataset?) are made by the services, which raise ``PermissionDenied``/``NotFound``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from dagr.accounts.models import User

from . import rules

View = Callable[..., HttpResponseBase]


class ActorRequest(HttpRequest):
    """The request a view wrapped by ``authenticated`` or ``requires`` receives: the wrapper has
    let only a signed-in person through, so ``request.user`` is a ``User``, never anonymous."""

    user: User


def _mark(view: Any, level: str) -> Any:
    view.dagr_access = level
    return view


def public(view: View) -> View:
    return _mark(view, "public")


def authenticated(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not rules.is_authenticated(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _mark(wrapper, "authenticated")


def requires(rule: Callable[[Any], bool]) -> Callable[[View], View]:
    """A rule about the actor alone (e.g. ``rules.is_portal_admin``): 401 → login, else 403."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not rules.is_authenticated(request.user):
                return redirect_to_login(request.get_full_path())
            if not rule(request.user):
                raise DjangoPermissionDenied
            return view(request, *args, **kwargs)

        return _mark(wrapper, f"requires:{rule.__name__}")

    return decorator


def class_view(level: Callable[[View], View], cls: Any, **initkwargs: Any) -> View:
    """Access declaration for a class-based view: ``class_view(public, LoginView)``."""
    return level(cls.as_view(**initkwargs))
