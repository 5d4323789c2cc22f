"""Technical connections: OAuth2 client credentials with a secret or a certificate-signed JWT."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from dagr.accounts.models import Institution, Membership
from dagr.connections import services, tokens
from dagr.connections.models import Connection
from dagr.core.errors import PermissionDenied, ValidationError
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/oauth/token"


def connection_with_token(client, provider) -> tuple[Connection, str]:
    """A new provider connection and an access token issued to it through the token endpoint."""
    institution, user = provider
    conn, secret = services.connection_create(
        actor=user, institution=institution, name="L", kind="provider"
    )
    token = client.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": conn.client_id, "client_secret": secret},
    ).json()["access_token"]
    return conn, token


def self_signed(days: int = 30) -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recipient-system.example.lv")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def provider():
    institution = make_institution(kind=Institution.Kind.PROVIDER)
    user = make_user(institution=institution, roles=(Membership.Role.PROVIDER,))
    return institution, user


def test_secret_is_shown_once_and_stored_only_as_hash(provider):
    institution, user = provider
    conn, secret = services.connection_create(
        actor=user, institution=institution, name="Loader", kind="provider"
    )
    assert secret and len(secret) >= 40
    stored = Connection.objects.get(pk=conn.pk)
    assert secret not in (stored.secret_hash, stored.certificate_pem)
    assert stored.secret_hint == secret[-4:]


@pytest.mark.parametrize("style", ["basic", "post"])
def test_client_credentials_with_secret(client, provider, style):
    institution, user = provider
    conn, secret = services.connection_create(
        actor=user, institution=institution, name="Loader", kind="provider", token_lifetime_s=600
    )
    if style == "basic":
        auth = base64.b64encode(f"{conn.client_id}:{secret}".encode()).decode()
        response = client.post(
            TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {auth}"
        )
    else:
        response = client.post(
            TOKEN_URL,
            {
                "grant_type": "client_credentials",
                "client_id": conn.client_id,
                "client_secret": secret,
            },
        )
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    who = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert who.status_code == 200
    assert who.json()["client_id"] == conn.client_id
    assert who.json()["institution_id"] == institution.pk


def test_wrong_secret_unknown_client_and_wrong_grant_are_problem_json(client, provider):
    institution, user = provider
    conn, _secret = services.connection_create(
        actor=user, institution=institution, name="L", kind="provider"
    )
    for data in (
        {"grant_type": "client_credentials", "client_id": conn.client_id, "client_secret": "x"},
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    ):
        response = client.post(TOKEN_URL, data)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["error"] == "invalid_client"
    response = client.post(TOKEN_URL, {"grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_grant_type"


def test_private_key_jwt_with_self_signed_certificate(client, provider):
    institution, user = provider
    key, pem = self_signed()
    conn, secret = services.connection_create(
        actor=user,
        institution=institution,
        name="Cert",
        kind="provider",
        auth_method=Connection.AuthMethod.CERTIFICATE,
        certificate_pem=pem,
    )
    assert secret is None and conn.certificate_fingerprint.count(":") == 31

    def assertion(jti: str, aud: str = "http://testserver" + TOKEN_URL) -> str:
        now = int(time.time())
        claims = {"iss": conn.client_id, "sub": conn.client_id, "aud": aud, "iat": now,
                  "exp": now + 60, "jti": jti}  # fmt: skip
        return jwt.encode(claims, key, algorithm="ES256")

    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": services.ASSERTION_TYPE,
    }
    jti = uuid.uuid4().hex
    ok = client.post(TOKEN_URL, form | {"client_assertion": assertion(jti)})
    assert ok.status_code == 200, ok.content
    replay = client.post(TOKEN_URL, form | {"client_assertion": assertion(jti)})
    assert replay.status_code == 401
    wrong_aud = client.post(
        TOKEN_URL, form | {"client_assertion": assertion("x2", aud="https://elsewhere/token")}
    )
    assert wrong_aud.status_code == 401
    other_key, _pem = self_signed()
    forged = jwt.encode(
        {"iss": conn.client_id, "sub": conn.client_id, "aud": "http://testserver" + TOKEN_URL,
         "exp": int(time.time()) + 60, "jti": "x3"},
        other_key, algorithm="ES256",
    )  # fmt: skip
    assert client.post(TOKEN_URL, form | {"client_assertion": forged}).status_code == 401


def test_bad_certificates_are_refused_with_clear_errors(provider):
    institution, user = provider
    with pytest.raises(ValidationError) as bad:
        services.connection_create(
            actor=user, institution=institution, name="C", kind="provider",
            auth_method=Connection.AuthMethod.CERTIFICATE, certificate_pem="-----BEGIN nonsense",
        )  # fmt: skip
    assert bad.value.code == "certificate_invalid"


def test_revocation_stops_issued_tokens_and_rotation_stops_old_secret(client, provider):
    institution, user = provider
    conn, secret = services.connection_create(
        actor=user, institution=institution, name="L", kind="provider"
    )
    form = {"grant_type": "client_credentials", "client_id": conn.client_id}
    token = client.post(TOKEN_URL, form | {"client_secret": secret}).json()["access_token"]
    new_secret = services.connection_rotate_secret(actor=user, connection=conn)
    assert client.post(TOKEN_URL, form | {"client_secret": secret}).status_code == 401
    token = client.post(TOKEN_URL, form | {"client_secret": new_secret}).json()["access_token"]
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    services.connection_revoke(actor=user, connection=conn)
    refused = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    assert client.post(TOKEN_URL, form | {"client_secret": new_secret}).status_code == 401


def test_rotation_stops_tokens_issued_before_it_at_once_in_this_process(client, provider):
    institution, user = provider
    conn, secret = services.connection_create(
        actor=user, institution=institution, name="L", kind="provider"
    )
    form = {"grant_type": "client_credentials", "client_id": conn.client_id}
    old = client.post(TOKEN_URL, form | {"client_secret": secret}).json()["access_token"]
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 200
    new_secret = services.connection_rotate_secret(actor=user, connection=conn)
    # Issued in the same second as the rotation, right after it: the new token works...
    new = client.post(TOKEN_URL, form | {"client_secret": new_secret}).json()["access_token"]
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200
    # ...and the one issued before the rotation is refused at once.
    refused = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {old}")
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    # A certificate replacing the secret does the same to the tokens issued with the secret.
    _key, pem = self_signed()
    services.connection_set_certificate(actor=user, connection=conn, certificate_pem=pem)
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 401


def test_rotation_in_another_process_stops_old_tokens_within_the_refresh_interval(
    client, provider, monkeypatch
):
    conn, token = connection_with_token(client, provider)
    _institution, user = provider
    assert tokens.token_verify(token).connection_id == conn.pk  # this process's map is loaded
    # "Another process" rotates: this process's map is not told (no invalidate here).
    monkeypatch.setattr(tokens.connection_states, "invalidate", lambda: None)
    services.connection_rotate_secret(actor=user, connection=Connection.objects.get(pk=conn.pk))
    monkeypatch.undo()
    # Once the map is older than the refresh interval it is reloaded and the token is refused.
    monotonic = time.monotonic()
    monkeypatch.setattr(
        "dagr.core.cache.time.monotonic", lambda: monotonic + tokens.STATE_REFRESH_S + 0.1
    )
    with pytest.raises(tokens.InvalidToken):
        tokens.token_verify(token)


def test_token_verification_makes_no_database_query(client, provider):
    conn, token = connection_with_token(client, provider)
    tokens.token_verify(token)  # warm the connection-state map
    with CaptureQueriesContext(db_connection) as queries:
        for _ in range(20):
            assert tokens.token_verify(token).connection_id == conn.pk
    assert len(queries) == 0


def test_tampered_and_missing_tokens_are_401(client):
    assert client.get("/api/v1/whoami").status_code == 401
    bad = client.get("/api/v1/whoami", HTTP_AUTHORIZATION="Bearer abc.def.ghi")
    assert bad.status_code == 401 and bad["Content-Type"] == "application/problem+json"


def test_only_the_right_representatives_manage_connections(provider):
    institution, provider_user = provider
    recipient_rep = make_user(institution=institution, roles=(Membership.Role.RECIPIENT,))
    outsider_inst = make_institution()
    outsider = make_user(institution=outsider_inst, roles=(Membership.Role.PROVIDER,))
    with pytest.raises(PermissionDenied):
        services.connection_create(
            actor=recipient_rep, institution=institution, name="x", kind="provider"
        )
    with pytest.raises(PermissionDenied):
        services.connection_create(
            actor=outsider, institution=institution, name="x", kind="provider"
        )
    with pytest.raises(PermissionDenied):  # a provider representative has no recipient rights
        services.connection_create(
            actor=provider_user, institution=institution, name="x", kind="recipient"
        )
    with pytest.raises(ValidationError):  # a provider-only institution has no recipient systems
        services.connection_create(
            actor=make_admin(), institution=institution, name="x", kind="recipient"
        )


def test_a_revocation_in_another_process_stops_tokens_within_the_state_refresh(
    client, provider, monkeypatch
):
    conn, token = connection_with_token(client, provider)
    assert tokens.STATE_REFRESH_S <= 5.0
    tokens.token_verify(token)  # the connection-state map is loaded
    # Another process revokes: no invalidation reaches this one.
    Connection.objects.filter(pk=conn.pk).update(status=Connection.Status.REVOKED)
    tokens.token_verify(token)  # still accepted from the map …
    clock = [time.monotonic() + tokens.STATE_REFRESH_S + 0.1]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    with pytest.raises(tokens.InvalidToken):  # … until the refresh interval has passed
        tokens.token_verify(token)


def test_repeated_failures_at_the_token_endpoint_answer_429_with_retry_after(
    client, provider, settings
):
    settings.TOKEN_FAILURES_PER_CLIENT = 3
    institution, user = provider
    conn, secret = services.connection_create(
        actor=user, institution=institution, name="L", kind="provider"
    )
    form = {"grant_type": "client_credentials", "client_id": conn.client_id}
    for n in range(3):  # from different addresses: the per-client_id limit
        wrong = form | {"client_secret": "nepareizs"}
        assert client.post(TOKEN_URL, wrong, REMOTE_ADDR=f"192.0.2.{n}").status_code == 401
    # Now even the right secret waits: a guesser cannot tell a hit from a miss.
    limited = client.post(TOKEN_URL, form | {"client_secret": secret}, REMOTE_ADDR="192.0.2.9")
    assert limited.status_code == 429
    assert limited["Content-Type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= settings.TOKEN_FAILURE_WINDOW_S
    # Another connection is not affected.
    other, other_secret = services.connection_create(
        actor=user, institution=institution, name="M", kind="provider"
    )
    ok = {"grant_type": "client_credentials", "client_id": other.client_id}
    assert client.post(TOKEN_URL, ok | {"client_secret": other_secret}).status_code == 200


def test_one_client_address_guessing_many_client_ids_is_limited(client, settings):
    settings.TOKEN_FAILURES_PER_IP = 5
    for n in range(5):
        form = {"grant_type": "client_credentials", "client_id": f"dagr-{n}", "client_secret": "x"}
        assert client.post(TOKEN_URL, form, REMOTE_ADDR="203.0.113.5").status_code == 401
    form = {"grant_type": "client_credentials", "client_id": "dagr-9", "client_secret": "x"}
    limited = client.post(TOKEN_URL, form, REMOTE_ADDR="203.0.113.5")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert client.post(TOKEN_URL, form, REMOTE_ADDR="203.0.113.6").status_code == 401
