"""National login (OpenID Connect, authorization code flow) as an option — off by default.

Why mozilla-django-oidc: it is a small, maintained relying-party library that does exactly the
authorization-code flow (state, nonce, PKCE, token exchange, ID token signature against the
provider's JWKS, userinfo) as a Django authentication backend plus two views, and leaves who
the person is to one method we write. django-allauth brings its own account model, sign-up
and e-mail flows that would duplicate DAGR's accounts (and its applications/approvals).

Turned on by ``DAGR_OIDC_DISCOVERY_URL`` (the provider's ``.well-known/openid-configuration``)
with ``DAGR_OIDC_CLIENT_ID``/``DAGR_OIDC_CLIENT_SECRET``. A person is matched to an existing,
active DAGR user by personal code (the claim named ``DAGR_OIDC_PERSONAL_CODE_CLAIM``; DAGR
stores only a keyed hash of the code, ``User.personal_code_hash``) or else by e-mail when the
provider says it is verified (``email_verified``). Unknown persons are never created: they are
told to apply for access or ask their signatory. The national login replaces the password only:
a user with two-factor authentication is still asked for the code.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from typing import Any

import orjson
import urllib3
from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from dagr.core.identifiers import compact, is_valid_personal_code
from dagr.core.secrets import local_secret_key

from .models import User

logger = logging.getLogger(__name__)

SESSION_OUTCOME = "dagr_oidc_outcome"
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def enabled() -> bool:
    return bool(settings.DAGR_OIDC_DISCOVERY_URL and settings.DAGR_OIDC_CLIENT_ID)


# --- the personal code: a keyed hash, never the code ------------------------------------------


def _personal_code_key() -> bytes:
    key = settings.DAGR_PERSONAL_CODE_KEY or local_secret_key(settings.VAR_DIR, "personal_code_key")
    return key.encode()


def personal_code_hash(code: str) -> str:
    """HMAC-SHA256 (hex) of the personal code without spaces/hyphens: a lookup key that does
    not reveal the code (the key is ``DAGR_PERSONAL_CODE_KEY`` or ``var/personal_code_key``)."""
    normal = compact(code).upper()
    return hmac.new(_personal_code_key(), normal.encode(), hashlib.sha256).hexdigest()


def valid_personal_code(code: str) -> bool:
    return is_valid_personal_code(compact(code))


# --- provider metadata (discovery) ------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _discovery(url: str) -> dict[str, Any]:
    response = urllib3.request("GET", url, timeout=settings.DAGR_OIDC_TIMEOUT_S, retries=False)
    if response.status != 200:
        raise ValueError(f"OpenID Connect discovery answered {response.status}")
    data: dict[str, Any] = orjson.loads(response.data)
    return data


def oidc_setting(attr: str, *args: Any) -> Any:
    """mozilla-django-oidc's settings, with the endpoints from the provider's discovery
    document and the client from DAGR's own settings."""
    if attr in _DISCOVERED:
        return _discovery(settings.DAGR_OIDC_DISCOVERY_URL)[_DISCOVERED[attr]]
    own = {
        "OIDC_RP_CLIENT_ID": settings.DAGR_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.DAGR_OIDC_CLIENT_SECRET,
        "OIDC_RP_SIGN_ALGO": settings.DAGR_OIDC_SIGN_ALGO,
        "OIDC_RP_SCOPES": settings.DAGR_OIDC_SCOPES,
        "OIDC_CREATE_USER": False,
        "OIDC_USE_PKCE": True,
        "OIDC_TIMEOUT": settings.DAGR_OIDC_TIMEOUT_S,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "accounts:oidc_callback",
    }
    if attr in own:
        return own[attr]
    return import_from_settings(attr, *args)


class DagrOIDCBackend(OIDCAuthenticationBackend):
    """Finds the existing DAGR user of a national-login person (never creates one)."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django makes every backend for every login: the provider's endpoints (discovery, an
        # HTTP call) are read only when an OpenID Connect callback is being authenticated.
        self.UserModel = User

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if not enabled() or request is None or "nonce" not in kwargs:
            return None  # not an OpenID Connect callback: other backends decide
        super().__init__()
        return super().authenticate(request, **kwargs)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get(settings.DAGR_OIDC_PERSONAL_CODE_CLAIM) or claims.get("email"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        code = str(claims.get(settings.DAGR_OIDC_PERSONAL_CODE_CLAIM) or "")
        if code:
            by_code = User.objects.filter(personal_code_hash=personal_code_hash(code))
            if by_code.exists():
                self._outcome("matched")
                return by_code
        email = str(claims.get("email") or "").strip().lower()
        if email and claims.get("email_verified") is True:
            by_email = User.objects.filter(email__iexact=email)
            if by_email.exists():
                self._outcome("matched")
                return by_email
        self._outcome("unknown")
        return User.objects.none()

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        if not user.is_active:
            self._outcome("inactive")
        return user

    def _outcome(self, value: str) -> None:
        self.request.session[SESSION_OUTCOME] = value

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


class RequestView(OIDCAuthenticationRequestView):
    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The endpoints are read per request (discovery), not at URL configuration import.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404
        self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        response: HttpResponse = super().get(request)
        return response


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: a matched, active user goes on to the code step (if they
    have two-factor authentication) or is logged in; anyone else gets a clear message."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            raise Http404
        response: HttpResponse = super().get(request)
        return response

    @property
    def failure_url(self) -> str:
        return reverse("accounts:login")

    def login_failure(self) -> HttpResponse:
        outcome = self.request.session.pop(SESSION_OUTCOME, "")
        if outcome == "unknown":
            messages.error(
                self.request,
                _(
                    "No DAGR account is linked to your national login. Apply for access, or ask "
                    "your institution's signatory contact person to add your personal code or "
                    "e-mail address to your account."
                ),
            )
        elif outcome == "inactive":
            messages.error(
                self.request,
                _("Your DAGR account is not active. Contact your institution's signatory person."),
            )
        else:
            messages.error(self.request, _("The national login did not succeed. Try again."))
        return HttpResponseRedirect(self.failure_url)

    def login_success(self) -> HttpResponse:
        from .views import finish_external_login

        self.request.session.pop(SESSION_OUTCOME, None)
        return finish_external_login(self.request, self.user, next_url=self.success_url)
