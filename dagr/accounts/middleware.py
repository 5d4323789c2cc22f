"""Two-factor enforcement for signed-in users (after Django's ``AuthenticationMiddleware``).

A session is marked ``SESSION_VERIFIED`` when its login passed the code step (or when the user
set up an authenticator within it). For an unmarked session of a signed-in user:
- a user with a confirmed authenticator is logged out (a session that skipped the code step);
- a user who must have one (``rules.requires_two_factor``: administrators, signatories) is sent
  to the enrolment page (an API call gets 403 ``two_factor_required``) and can use nothing else
  until done.
A marked session costs no query; an unmarked one that passed is not checked again for
``RECHECK_S`` (so a password-only user pays two small queries every few minutes, not per page),
and a request without a session cookie (an API call with a token) is not looked at.
``settings.DAGR_TWO_FACTOR_ENFORCE`` (on by default) turns this off for the test suite only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from dagr.core.problems import problem_response
from dagr.permissions import rules

from .models import TwoFactorDevice

SESSION_VERIFIED = "dagr_2fa_verified"
SESSION_CHECKED_AT = "dagr_2fa_checked_at"
RECHECK_S = 300

# Paths a user who still has to enrol may open: enrolment itself, logout, language, assets.
_OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz")


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        answer = self._check(request)
        return answer if answer is not None else self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        if not settings.DAGR_TWO_FACTOR_ENFORCE:
            return None
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None  # no session: anonymous, or an API call with a token
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        session = request.session
        if session.get(SESSION_VERIFIED):
            return None
        now = int(time.time())
        if now - int(session.get(SESSION_CHECKED_AT, 0)) < RECHECK_S:
            return None
        path = request.path
        if path.startswith(_OPEN_PREFIXES) or path == reverse("accounts:logout"):
            return None
        if TwoFactorDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).exists():
            logout(request)
            return redirect("accounts:login")
        if not rules.requires_two_factor(user):
            session[SESSION_CHECKED_AT] = now
            return None
        if path.startswith("/api/"):
            return problem_response(
                request,
                status=403,
                code="two_factor_required",
                title=_("Set up two-factor authentication in the portal first"),
            )
        enrol = reverse("accounts:two_factor_enrol")
        if path == enrol:
            return None
        return redirect(enrol)
