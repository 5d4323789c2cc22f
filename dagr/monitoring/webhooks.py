"""Webhook endpoints: URL validation with a guard against server-side request forgery (SSRF),
Standard Webhooks signing, and the one signed HTTP POST.

SSRF guard (the address check is ``dagr_agent.netguard``, shared with the connectors)
-----------------------------------------------------------------------------------
A recipient chooses the URL, and DAGR's worker sends to it from inside the operator's network,
so a URL must not reach internal services (the cloud metadata address, the database, an admin
interface on loopback). ``url_check``:

- accepts ``https`` only (plain ``http`` only when ``settings.DAGR_WEBHOOK_ALLOW_PRIVATE``);
- refuses user info (``user:pass@``), fragments and over-long URLs;
- resolves the host name with ``socket.getaddrinfo`` and refuses the URL if ANY address it
  resolves to is not a public unicast address: private, loopback, link-local, shared (CGN),
  multicast, reserved, unspecified, documentation ranges, and IPv6 addresses that embed such an
  IPv4 address (IPv4-mapped ``::ffff:…``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo).

``webhook_post`` connects to the address that was checked — the TCP connection is opened to the
IP, never to the name, so a second DNS answer (DNS rebinding) cannot redirect it — while TLS
still verifies the certificate for the host name (SNI and hostname check) and the ``Host``
header names the host. Redirects are not followed, timeouts are short (connect 5 s, read 10 s)
and at most 64 KiB of the answer is read.

Signing (https://www.standardwebhooks.com): ``webhook-id`` (the delivery's message id, the same
on every retry), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
``v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``, the secret ``whsec_`` + base64
of 32 random bytes.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from standardwebhooks.webhooks import Webhook

from dagr.core.errors import ValidationError
from dagr_agent import netguard

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
MAX_URL_LENGTH = 500
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "DAGR-Webhooks/1"

# the one address check, shared with the agent's HTTP/SFTP sources
address_is_public = netguard.address_is_public


class WebhookUrlInvalid(ValidationError):
    code = "webhook_url_invalid"
    title = _("The webhook URL is not valid")


class WebhookUrlNotAllowed(ValidationError):
    code = "webhook_url_not_allowed"
    title = _("The webhook URL is not allowed")


def _invalid(message: object) -> WebhookUrlInvalid:
    return WebhookUrlInvalid(
        message,
        errors=[{"location": "url", "code": WebhookUrlInvalid.code, "message": str(message)}],
    )


def _not_allowed(message: object) -> WebhookUrlNotAllowed:
    return WebhookUrlNotAllowed(
        message,
        errors=[{"location": "url", "code": WebhookUrlNotAllowed.code, "message": str(message)}],
    )


def allow_private() -> bool:
    return bool(getattr(settings, "DAGR_WEBHOOK_ALLOW_PRIVATE", False))


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``addresses``, all checked) and what to ask for."""

    url: str
    scheme: str
    host: str  # the host name as written (no brackets for an IPv6 literal)
    port: int
    path: str  # path + query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        return netguard.resolve(host, port)
    except netguard.AddressError:
        raise _invalid(_("The host name of the webhook URL cannot be resolved.")) from None


def url_check(url: str, *, private_ok: bool | None = None) -> Target:
    """The checked target of ``url``; raises ``webhook_url_invalid`` (malformed, unresolvable)
    or ``webhook_url_not_allowed`` (http, internal address) with a translated message.
    ``private_ok`` overrides ``DAGR_WEBHOOK_ALLOW_PRIVATE`` for another caller of this one guard
    (the CKAN sync passes its own setting)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise _invalid(_("Enter a full https:// URL of at most 500 characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _invalid(_("Enter a full https:// URL of at most 500 characters.")) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("https", "http") or not host:
        raise _invalid(_("Enter a full https:// URL of at most 500 characters."))
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise _invalid(_("The webhook URL must not contain a user name, password or fragment."))
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise _invalid(_("Enter a full https:// URL of at most 500 characters."))
    if private_ok is None:
        private_ok = allow_private()
    if scheme == "http" and not private_ok:
        raise _not_allowed(_("The webhook URL must use https."))
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not private_ok:
        for address in addresses:
            if not address_is_public(ipaddress.ip_address(address)):
                raise _not_allowed(
                    _(
                        "The webhook URL leads to a private, loopback or otherwise internal "
                        "network address, which is not allowed."
                    )
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, addresses=addresses)


# --- signing ----------------------------------------------------------------------------------


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value (``v1,<base64>``)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(message_id, moment, body)


def signed_headers(*, secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=secret, message_id=message_id, timestamp=timestamp, body=body
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


# --- sending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


def _pool(target: Target, address: str) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
    return netguard.connection_pool(
        scheme=target.scheme, host=target.host, port=target.port, address=address, timeout=timeout
    )


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(exc).__name__}: {reason}"[:500]


def webhook_post(*, url: str, secret: str, message_id: str, body: str) -> PostResult:
    """POST ``body`` to ``url`` signed with ``secret``; never raises for network trouble or a
    refused URL (the result says what went wrong). The URL is checked again now: DNS answers
    change."""
    try:
        target = url_check(url)
    except ValidationError as exc:
        return PostResult(ok=False, error=f"{exc.code}: {exc.message}"[:500])
    headers = signed_headers(
        secret=secret, message_id=message_id, timestamp=int(time.time()), body=body
    )
    headers["host"] = target.host_header
    payload = body.encode("utf-8")
    error = ""
    for address in target.addresses:
        pool = _pool(target, address)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=payload,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:
            error = _describe(exc)
            pool.close()
            continue  # this address refused the connection: try the next one of the name
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            return PostResult(ok=False, error=_describe(exc))
        try:
            answer = response.read(MAX_RESPONSE_BYTES, decode_content=False)
        except urllib3.exceptions.HTTPError:
            answer = b""
        finally:
            response.release_conn()
            pool.close()
        status = response.status
        if 200 <= status < 300:
            return PostResult(ok=True, status_code=status)
        text = answer[:200].decode("utf-8", "replace").strip()
        detail = f"HTTP {status}" + (f": {text}" if text else "")
        if 300 <= status < 400:
            detail = f"HTTP {status}: redirects are not followed"
        return PostResult(ok=False, status_code=status, error=detail[:500])
    return PostResult(ok=False, error=error or "no address to connect to")
