"""Registering technical connections and issuing their access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.accounts.models import Institution, acting_user
from dagr.audit.services import admin_entry_create
from dagr.core.actors import Actor
from dagr.core.errors import DomainError, PermissionDenied, RateLimited, ValidationError
from dagr.core.ratelimit import rate_limit_hit, rate_limit_wait
from dagr.permissions import rules

from . import tokens
from .models import Connection, UsedAssertion

MIN_LIFETIME_S, MAX_LIFETIME_S = 60, 24 * 3600
MAX_CERTIFICATE_BYTES = 16 * 1024
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_AGE_S = 300
ASSERTION_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


class OAuthError(DomainError):
    """RFC 6749 §5.2 error, carried in a problem+json document (``error`` member included)."""

    status = 400

    def __init__(self, error: str, description: Any, status: int = 400) -> None:
        super().__init__(description, code=error, error=error, error_description=str(description))
        self.status = status


# --- secrets and certificates ------------------------------------------------------------------


def _hash_secret(secret: str) -> str:
    """Client secrets are 256-bit random strings, so a keyed SHA-256 is the right hash: it is
    not guessable offline without the server key, and cheap enough for the token endpoint."""
    key = hmac.new(settings.SECRET_KEY.encode(), b"dagr.client-secret.v1", hashlib.sha256).digest()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def certificate_parse(pem: str) -> x509.Certificate:
    data = pem.strip().encode()
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise ValidationError(_("The certificate file is too large."), code="certificate_too_large")
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ValidationError(
            _("This is not a PEM-encoded X.509 certificate."), code="certificate_invalid"
        ) from exc
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValidationError(
            _("The certificate must hold an RSA or EC public key."), code="certificate_key_type"
        )
    if certificate.not_valid_after_utc <= timezone.now():
        raise ValidationError(_("The certificate has expired."), code="certificate_expired")
    return certificate


def _fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


# --- connection management ---------------------------------------------------------------------


def _check_manage(actor: Actor, institution: Institution, kind: str) -> None:
    if not rules.can_manage_connections_of(actor, institution, kind):
        raise PermissionDenied(
            _("You may not manage this institution's technical connections of this kind.")
        )


def connection_create(
    *,
    actor: Actor,
    institution: Institution,
    name: str,
    kind: str,
    auth_method: str = Connection.AuthMethod.SECRET,
    certificate_pem: str = "",
    token_lifetime_s: int = 900,
) -> tuple[Connection, str | None]:
    """Returns the connection and, for secret authentication, the secret — shown once, never
    stored in plain text."""
    _check_manage(actor, institution, kind)
    if kind == Connection.Kind.PROVIDER and not institution.is_provider:
        raise ValidationError(_("This institution is not a data provider."), code="not_provider")
    if kind == Connection.Kind.RECIPIENT and not institution.is_recipient:
        raise ValidationError(_("This institution is not a data recipient."), code="not_recipient")
    if not MIN_LIFETIME_S <= token_lifetime_s <= MAX_LIFETIME_S:
        raise ValidationError(
            _("The token lifetime must be between %(min)s and %(max)s seconds.")
            % {"min": MIN_LIFETIME_S, "max": MAX_LIFETIME_S},
            code="invalid_token_lifetime",
        )
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the connection a name."), code="name_required")
    connection = Connection(
        institution=institution,
        name=name[:150],
        kind=kind,
        auth_method=auth_method,
        token_lifetime_s=token_lifetime_s,
        client_id=f"dagr-{secrets.token_hex(12)}",
        created_by=acting_user(actor),
    )
    secret: str | None = None
    if auth_method == Connection.AuthMethod.CERTIFICATE:
        _apply_certificate(connection, certificate_pem)
    elif auth_method == Connection.AuthMethod.SECRET:
        secret = _new_secret()
        connection.secret_hash, connection.secret_hint = _hash_secret(secret), secret[-4:]
    else:
        raise ValidationError(_("Unknown authentication method."), code="invalid_auth_method")
    with transaction.atomic():
        connection.save()
        admin_entry_create(
            action="connections.connection.created",
            actor=actor,
            target=connection,
            institution_id=institution.pk,
            changes={
                "kind": [None, kind],
                "auth_method": [None, auth_method],
                "token_lifetime_s": [None, token_lifetime_s],
            },
        )
    tokens.connection_states.invalidate()
    return connection, secret


def _apply_certificate(connection: Connection, pem: str) -> None:
    certificate = certificate_parse(pem)
    connection.certificate_pem = pem.strip()
    connection.certificate_fingerprint = _fingerprint(certificate)
    connection.certificate_not_after = certificate.not_valid_after_utc


def connection_rotate_secret(*, actor: Actor, connection: Connection) -> str:
    """A new secret replaces the old one at once, and tokens issued before stop working: at once
    in this process, within ``tokens.STATE_REFRESH_S`` in the others."""
    _check_manage(actor, connection.institution, connection.kind)
    if connection.status != Connection.Status.ACTIVE:
        raise ValidationError(_("A revoked connection cannot be changed."), code="revoked")
    secret = _new_secret()
    with transaction.atomic():
        connection.auth_method = Connection.AuthMethod.SECRET
        connection.secret_hash, connection.secret_hint = _hash_secret(secret), secret[-4:]
        connection.tokens_valid_after = timezone.now()
        connection.save(
            update_fields=[
                "auth_method",
                "secret_hash",
                "secret_hint",
                "tokens_valid_after",
                "updated_at",
            ]
        )
        admin_entry_create(
            action="connections.connection.secret_rotated",
            actor=actor,
            target=connection,
            institution_id=connection.institution_id,
            changes={"secret": ["***", "***"]},
        )
    tokens.connection_states.invalidate()
    return secret


def connection_set_certificate(
    *, actor: Actor, connection: Connection, certificate_pem: str
) -> None:
    """The new certificate replaces the old one (or the secret); tokens issued before stop
    working, like at a secret rotation."""
    _check_manage(actor, connection.institution, connection.kind)
    if connection.status != Connection.Status.ACTIVE:
        raise ValidationError(_("A revoked connection cannot be changed."), code="revoked")
    old = connection.certificate_fingerprint
    _apply_certificate(connection, certificate_pem)
    with transaction.atomic():
        connection.auth_method = Connection.AuthMethod.CERTIFICATE
        connection.secret_hash = connection.secret_hint = ""
        connection.tokens_valid_after = timezone.now()
        connection.save()
        admin_entry_create(
            action="connections.connection.certificate_changed",
            actor=actor,
            target=connection,
            institution_id=connection.institution_id,
            changes={"certificate_fingerprint": [old, connection.certificate_fingerprint]},
        )
    tokens.connection_states.invalidate()


def connection_revoke(*, actor: Actor, connection: Connection) -> None:
    """Revoked at once: no new tokens, and tokens already issued are refused."""
    _check_manage(actor, connection.institution, connection.kind)
    if connection.status == Connection.Status.REVOKED:
        return
    with transaction.atomic():
        connection.status = Connection.Status.REVOKED
        connection.tokens_valid_after = timezone.now() + timedelta(seconds=1)
        connection.save(update_fields=["status", "tokens_valid_after", "updated_at"])
        admin_entry_create(
            action="connections.connection.revoked",
            actor=actor,
            target=connection,
            institution_id=connection.institution_id,
            changes={"status": ["active", "revoked"]},
        )
    tokens.connection_states.invalidate()


# --- the token endpoint (OAuth 2.0 client credentials) -----------------------------------------


def _invalid_client() -> OAuthError:
    # One answer for unknown client, wrong secret, bad signature, revoked: nothing to probe.
    return OAuthError("invalid_client", _("Client authentication failed."), status=401)


def _active_connection(client_id: str) -> Connection:
    connection = (
        Connection.objects.select_related("institution").filter(client_id=client_id).first()
    )
    if (
        connection is None
        or connection.status != Connection.Status.ACTIVE
        or connection.institution.status != Institution.Status.ACTIVE
    ):
        raise _invalid_client()
    return connection


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """``client_secret_basic``: ``Authorization: Basic base64(client_id:client_secret)``."""
    scheme, _sep, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        client_id, sep, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (client_id, secret) if sep else None


def token_issue(
    *,
    grant_type: str,
    client_id: str | None = None,
    client_secret: str | None = None,
    client_assertion_type: str | None = None,
    client_assertion: str | None = None,
    audiences: list[str],
) -> dict[str, Any]:
    if grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type", _("Only the client_credentials grant is supported.")
        )
    if client_assertion is not None:
        connection = _authenticate_assertion(
            client_assertion_type, client_assertion, client_id, audiences
        )
    elif client_id and client_secret:
        connection = _active_connection(client_id)
        if connection.auth_method != Connection.AuthMethod.SECRET or not hmac.compare_digest(
            connection.secret_hash, _hash_secret(client_secret)
        ):
            raise _invalid_client()
    else:
        raise OAuthError(
            "invalid_request",
            _("Authenticate with client_id and client_secret, or with a client_assertion."),
        )
    token, lifetime = tokens.token_encode(
        connection_id=connection.pk,
        client_id=connection.client_id,
        institution_id=connection.institution_id,
        kind=connection.kind,
        lifetime_s=connection.token_lifetime_s,
        valid_after=connection.tokens_valid_after,
    )
    Connection.objects.filter(pk=connection.pk).update(last_token_at=timezone.now())
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}


def token_issue_limited(*, client_ip: str, **request: Any) -> dict[str, Any]:
    """``token_issue`` behind a limit on failed client authentications (401 ``invalid_client``)
    per client_id and per client address: past ``TOKEN_FAILURES_PER_CLIENT`` /
    ``TOKEN_FAILURES_PER_IP`` failures within ``TOKEN_FAILURE_WINDOW_S`` every request is refused
    with ``RateLimited`` (429) until the window ends — also one with the right secret, so a
    guesser learns nothing."""
    limits = [("oauth.token.ip", client_ip, settings.TOKEN_FAILURES_PER_IP)]
    if request.get("client_id"):
        limits.append(
            ("oauth.token.client", request["client_id"], settings.TOKEN_FAILURES_PER_CLIENT)
        )
    waits = [rate_limit_wait(scope=s, value=v, limit=n) for s, v, n in limits]
    if any(waits):
        raise RateLimited(retry_after=max(w for w in waits if w))
    try:
        return token_issue(**request)
    except OAuthError as exc:
        if exc.status == 401:
            for scope, value, _limit in limits:
                rate_limit_hit(scope=scope, value=value, window_s=settings.TOKEN_FAILURE_WINDOW_S)
        raise


def _authenticate_assertion(
    assertion_type: str | None, assertion: str, client_id: str | None, audiences: list[str]
) -> Connection:
    if assertion_type != ASSERTION_TYPE:
        raise OAuthError("invalid_request", _("Unsupported client_assertion_type."))
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        issuer = str(unverified.get("iss", ""))
    except jwt.PyJWTError:
        raise _invalid_client() from None
    if not issuer or (client_id and client_id != issuer):
        raise _invalid_client()
    connection = _active_connection(issuer)
    if connection.auth_method != Connection.AuthMethod.CERTIFICATE:
        raise _invalid_client()
    certificate = x509.load_pem_x509_certificate(connection.certificate_pem.encode())
    now = timezone.now()
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise _invalid_client()
    try:
        claims = jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]  # RSA or EC: certificate_parse
            algorithms=ASSERTION_ALGORITHMS,
            audience=audiences,
            issuer=issuer,
            leeway=tokens.LEEWAY_S,
            options={"require": ["exp", "iss", "sub", "aud", "jti"]},
        )
    except jwt.PyJWTError:
        raise _invalid_client() from None
    if claims["sub"] != issuer or claims["exp"] - now.timestamp() > ASSERTION_MAX_AGE_S:
        raise _invalid_client()
    try:
        with transaction.atomic():
            UsedAssertion.objects.filter(expires_at__lt=now - timedelta(minutes=5)).delete()
            UsedAssertion.objects.create(
                connection=connection,
                jti=str(claims["jti"])[:200],
                expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            )
    except IntegrityError:
        raise OAuthError(
            "invalid_client", _("This client assertion was already used."), status=401
        ) from None
    return connection
