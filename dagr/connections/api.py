from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Form, Router, Schema

from dagr.core.errors import RateLimited
from dagr.core.problems import problem_from_error
from dagr.core.ratelimit import client_ip

from . import services
from .auth import any_connection_auth, principal_of
from .tokens import utc_from_timestamp

router = Router(tags=["authentication"])


class TokenOut(Schema):
    access_token: str
    token_type: str
    expires_in: int


class WhoAmIOut(Schema):
    client_id: str
    institution_id: int
    kind: str
    expires_at: str


@router.post(
    "/oauth/token",
    response=TokenOut,
    auth=None,
    summary="Obtain an access token (OAuth 2.0 client credentials)",
    url_name="token",
    description=(
        "Public endpoint; the client authenticates in the request. RFC 6749 §4.4 with "
        "`client_secret_basic`, `client_secret_post`, or RFC 7523 `private_key_jwt` "
        "(a JWT signed with the key of the connection's registered X.509 certificate, "
        "`aud` = this URL). Errors are problem+json documents that also carry the OAuth "
        "`error` member."
    ),
)
def token(
    request: HttpRequest,
    response: HttpResponse,
    grant_type: Form[str],
    client_id: Form[str | None] = None,
    client_secret: Form[str | None] = None,
    client_assertion_type: Form[str | None] = None,
    client_assertion: Form[str | None] = None,
    scope: Form[str | None] = None,
) -> dict | HttpResponse:
    basic = services.basic_credentials(request.headers.get("Authorization", ""))
    if basic:
        client_id, client_secret = basic
    response["Cache-Control"] = "no-store"
    try:
        return services.token_issue_limited(
            client_ip=client_ip(request),
            grant_type=grant_type,
            client_id=client_id,
            client_secret=client_secret,
            client_assertion_type=client_assertion_type,
            client_assertion=client_assertion,
            audiences=[settings.SITE_URL.rstrip("/") + request.path, request.build_absolute_uri()],
        )
    except RateLimited as exc:
        return _too_many_attempts(request, exc)


def _too_many_attempts(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    """429 problem+json with ``Retry-After``: the seconds until the failure window ends."""
    answer = problem_from_error(request, exc)
    answer["Retry-After"] = str(exc.retry_after)
    answer["Cache-Control"] = "no-store"
    return answer


@router.get(
    "/whoami",
    response=WhoAmIOut,
    auth=any_connection_auth,
    summary="The calling technical connection (any valid access token)",
)
def whoami(request: HttpRequest) -> dict:
    principal = principal_of(request)
    return {
        "client_id": principal.client_id,
        "institution_id": principal.institution_id,
        "kind": principal.kind,
        "expires_at": utc_from_timestamp(principal.expires_at).isoformat(),
    }
