"""Access tokens for technical connections: issued by the OAuth2 token endpoint (client
credentials, RFC 6749 §4.4), verified on every API request WITHOUT a database query.

- Tokens are JWTs (PyJWT) signed with HS256 under a key derived from ``SECRET_KEY``: every web
  process can verify them locally in microseconds.
- Revocation still bites: each process keeps a small map ``connection id → (active, institution
  active, tokens_valid_after)`` refreshed from the database at most every
  ``STATE_REFRESH_S`` seconds (one query for all connections, not one per request) and dropped
  at once in the process that revoked. A revoked connection's tokens stop working within that
  interval everywhere, immediately where it was revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.conf import settings

from dagr.core.cache import RefreshedMap

from .models import Connection

ISSUER = "dagr"
ALGORITHM = "HS256"
STATE_REFRESH_S = 5.0
LEEWAY_S = 5


def _signing_key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"dagr.access-token.v1", hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the verified content of an access token."""

    connection_id: int
    client_id: str
    institution_id: int
    kind: str
    token_id: str
    expires_at: int


def token_encode(
    *,
    connection_id: int,
    client_id: str,
    institution_id: int,
    kind: str,
    lifetime_s: int,
    valid_after: datetime | None = None,
) -> tuple[str, int]:
    """``iat`` carries fractions of a second (RFC 7519 allows non-integer NumericDate values), so
    a token issued right after a rotation is told from one issued just before it
    (``tokens_valid_after``); ``exp`` stays whole seconds."""
    issued_at = time.time()
    if valid_after is not None:
        issued_at = max(issued_at, valid_after.timestamp())
    now = int(issued_at)
    claims = {
        "iss": ISSUER,
        "sub": f"connection:{connection_id}",
        "cid": client_id,
        "ins": institution_id,
        "knd": kind,
        "iat": issued_at,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM), lifetime_s


def load_connection_states() -> dict[int, tuple[bool, float]]:
    """``connection id → (usable, tokens_valid_after as a timestamp)`` of every connection."""
    rows = Connection.objects.values_list(
        "pk", "status", "institution__status", "tokens_valid_after"
    )
    return {
        pk: (
            status == Connection.Status.ACTIVE and inst_status == "active",
            valid_after.timestamp() if valid_after else 0.0,
        )
        for pk, status, inst_status, valid_after in rows
    }


connection_states: RefreshedMap[int, tuple[bool, float]] = RefreshedMap(
    load_connection_states, refresh_s=STATE_REFRESH_S
)


class InvalidToken(Exception):
    pass


_verified: dict[str, tuple[int, float, Principal]] = {}
_VERIFIED_MAX = 10_000


def token_verify(token: str) -> Principal:
    """Verify a bearer token. A token whose signature was already verified in this process is
    recognised by its exact text (the signature is part of it), so only its expiry and the
    connection's state are checked again — each request still sees revocation."""
    cached = _verified.get(token)
    if cached is not None:
        connection_id, issued_at, principal = cached
        if principal.expires_at + LEEWAY_S < time.time():
            _verified.pop(token, None)
            raise InvalidToken("expired")
        _check_state(connection_id, issued_at)
        return principal
    principal, issued_at = _decode(token)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[token] = (principal.connection_id, issued_at, principal)
    return principal


def _check_state(connection_id: int, issued_at: float) -> None:
    state = connection_states.get(connection_id)
    if state is None:
        connection_states.invalidate()  # a connection created since the last refresh
        state = connection_states.get(connection_id)
    if state is None or not state[0] or issued_at < state[1]:
        raise InvalidToken("connection revoked or unknown")


def _decode(token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            _signing_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        connection_id = int(str(claims["sub"]).removeprefix("connection:"))
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc
    _check_state(connection_id, float(claims["iat"]))
    principal = Principal(
        connection_id=connection_id,
        client_id=claims["cid"],
        institution_id=int(claims["ins"]),
        kind=claims["knd"],
        token_id=claims["jti"],
        expires_at=int(claims["exp"]),
    )
    return principal, float(claims["iat"])


def utc_from_timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)
