"""The webhook endpoint guard (SSRF), Standard Webhooks signing and the signed POST, against a
real HTTP receiver on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from dagr.monitoring import webhooks
from dagr.monitoring.webhooks import WebhookUrlInvalid, WebhookUrlNotAllowed, url_check
from tests.monitoring.webhook_receiver import receiver  # noqa: F401 (fixture)

BODY = json.dumps({"type": "record_set.changes", "changes": [{"id": 1, "key": "Ā"}]})


@pytest.fixture
def no_private(settings):
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.1.2.3:8443/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://100.64.0.1/hook",  # shared address space (carrier-grade NAT)
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://255.255.255.255/hook",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "https://[::ffff:10.0.0.1]/hook",
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://localhost/hook",  # a name that resolves to loopback
        "https://localhost./hook",
    ],
)
def test_internal_addresses_are_refused(no_private, url):
    with pytest.raises(WebhookUrlNotAllowed) as caught:
        url_check(url)
    assert caught.value.code == "webhook_url_not_allowed"
    assert caught.value.status == 422


def test_http_is_refused_unless_private_targets_are_allowed(settings):
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(WebhookUrlNotAllowed, match="https"):
        url_check("http://8.8.8.8/hook")
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = True
    assert url_check("http://127.0.0.1:8080/hook").addresses == ("127.0.0.1",)


def test_a_public_address_is_accepted(no_private):
    target = url_check("https://8.8.8.8/hook?a=1")
    assert target.addresses == ("8.8.8.8",)
    assert (target.host, target.port, target.path) == ("8.8.8.8", 443, "/hook?a=1")
    assert target.host_header == "8.8.8.8"
    assert url_check("https://[2001:4860:4860::8888]:8443/").host_header == (
        "[2001:4860:4860::8888]:8443"
    )


def test_a_name_is_refused_if_any_of_its_addresses_is_internal(no_private, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(WebhookUrlNotAllowed):
        url_check("https://hooks.example.lv/x")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://8.8.8.8/x",
        "https://",
        "https://user:pw@8.8.8.8/x",
        "https://8.8.8.8/x#frag",
        "https://8.8.8.8:99999/x",
        "https://nonexistent.invalid/x",
        "https://8.8.8.8/" + "a" * 500,
    ],
)
def test_malformed_or_unresolvable_urls_are_invalid(no_private, url):
    with pytest.raises(WebhookUrlInvalid) as caught:
        url_check(url)
    assert caught.value.code == "webhook_url_invalid"
    assert caught.value.errors[0]["location"] == "url"


def test_messages_are_latvian_first(no_private):
    from django.utils import translation

    with pytest.raises(WebhookUrlNotAllowed) as caught:
        url_check("http://8.8.8.8/")
    with translation.override("lv"):
        assert str(caught.value.message) == "Tīmekļa āķa URL jāizmanto https."
    with translation.override("en"):
        assert str(caught.value.message) == "The webhook URL must use https."


def test_the_secret_has_the_standard_form():
    secret = webhooks.secret_new()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert webhooks.secret_new() != secret


def test_signed_post_verifies_with_the_library_and_by_hand(receiver):  # noqa: F811
    secret = webhooks.secret_new()
    result = webhooks.webhook_post(url=receiver.url, secret=secret, message_id="msg_1", body=BODY)
    assert result.ok and result.status_code == 200
    (request,) = receiver.requests
    assert request.path == "/hook?x=1"
    assert request.body == BODY.encode()
    headers = request.headers
    assert headers["webhook-id"] == "msg_1"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "DAGR-Webhooks/1"
    # the library's verification
    assert Webhook(secret).verify(request.body, headers) == json.loads(BODY)
    # and an independent computation of the Standard Webhooks signature
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    # a wrong secret does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.secret_new()).verify(request.body, headers)


def test_connects_to_the_checked_address_and_names_the_host(receiver, monkeypatch):  # noqa: F811
    """The name is resolved once (the check) and the connection goes to that address: a second,
    different DNS answer (rebinding) is never asked for."""
    port = receiver.url.split(":")[2].split("/")[0]
    calls = []
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        calls.append(host)
        if host == "hooks.example.lv":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    result = webhooks.webhook_post(
        url=f"http://hooks.example.lv:{port}/in", secret=webhooks.secret_new(),
        message_id="msg_2", body=BODY,
    )  # fmt: skip
    assert result.ok
    assert calls.count("hooks.example.lv") == 1
    assert receiver.requests[0].headers["host"] == f"hooks.example.lv:{port}"


def test_failures_are_reported_not_raised(receiver):  # noqa: F811
    secret = webhooks.secret_new()
    receiver.script = [500, "close", "redirect"]
    first = webhooks.webhook_post(url=receiver.url, secret=secret, message_id="m", body=BODY)
    assert (first.ok, first.status_code) == (False, 500)
    assert first.error.startswith("HTTP 500")
    second = webhooks.webhook_post(url=receiver.url, secret=secret, message_id="m", body=BODY)
    assert not second.ok and second.status_code is None and second.error
    third = webhooks.webhook_post(url=receiver.url, secret=secret, message_id="m", body=BODY)
    assert (third.ok, third.status_code) == (False, 302)
    assert "redirects are not followed" in third.error
    assert len(receiver.requests) == 3  # the redirect target was not asked


def test_a_large_answer_is_read_only_partly(receiver):  # noqa: F811
    receiver.script = ["huge"]
    result = webhooks.webhook_post(
        url=receiver.url, secret=webhooks.secret_new(), message_id="m", body=BODY
    )
    assert result.ok


def test_a_closed_port_and_a_refused_url_are_failures(receiver, settings):  # noqa: F811
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = webhooks.webhook_post(
        url=f"http://127.0.0.1:{port}/", secret=webhooks.secret_new(), message_id="m", body=BODY
    )
    assert not closed.ok and closed.error
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = False
    refused = webhooks.webhook_post(
        url=receiver.url, secret=webhooks.secret_new(), message_id="m", body=BODY
    )
    assert not refused.ok and refused.error.startswith("webhook_url_not_allowed")
    assert receiver.requests == []


def test_https_verifies_the_certificate_of_the_host_name(tmp_path, settings):
    """A local TLS server with a self-signed certificate: the connection goes to the IP, TLS
    checks the certificate (not trusted here) — so the request fails before any data is sent."""
    import datetime as dt
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = True
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = webhooks.webhook_post(
            url=f"https://localhost:{server.server_address[1]}/in",
            secret=webhooks.secret_new(), message_id="m", body=BODY,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert not result.ok
    assert "CERTIFICATE_VERIFY_FAILED" in result.error or "certificate" in result.error.lower()
    assert hits == []
