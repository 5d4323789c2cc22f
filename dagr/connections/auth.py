"""API authentication for technical connections: ``Authorization: Bearer <access token>``.

``ConnectionAuth(kind="provider")`` is the ninja auth of the provider endpoints,
``ConnectionAuth(kind="recipient")`` of the recipient endpoints. Verification costs no database
query (see ``tokens``). Tokens are never logged.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from dagr.core.errors import NotAuthenticated, PermissionDenied

from .tokens import InvalidToken, Principal, token_verify


class ConnectionAuth(HttpBearer):
    def __init__(self, kind: str | None = None) -> None:
        super().__init__()
        self.kind = kind

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        try:
            principal = token_verify(token)
        except InvalidToken:
            raise NotAuthenticated(code="invalid_token") from None
        if self.kind and principal.kind != self.kind:
            raise PermissionDenied(code="wrong_connection_kind")
        return principal


def principal_of(request: HttpRequest) -> Principal:
    """The caller of an operation behind ``ConnectionAuth``: ninja sets ``request.auth`` to what
    ``authenticate`` returned."""
    principal: Principal = request.auth  # type: ignore[attr-defined]  # set by ninja
    return principal


provider_auth = ConnectionAuth(kind="provider")
recipient_auth = ConnectionAuth(kind="recipient")
any_connection_auth = ConnectionAuth()
