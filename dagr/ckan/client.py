"""The one HTTP client of CKAN's Action API (``POST {base}/api/3/action/<name>``, JSON in,
the ``{"success", "result"|"error"}`` envelope out).

Outgoing requests go through the platform's one guard against server-side request forgery,
``dagr.monitoring.webhooks.url_check``: the base URL must be ``https`` and resolve to public
addresses only (``settings.DAGR_CKAN_ALLOW_PRIVATE`` lifts that, for a portal inside the
operator's network and for the tests' loopback stand-in). The TCP connection is opened to the
checked address, never to the name (no DNS rebinding), TLS still verifies the host name,
redirects are not followed and at most ``MAX_RESPONSE_BYTES`` are read.

The API token goes into the ``Authorization`` header only: never into an error text, a log line
or a URL. Errors are ``CkanError`` with a ``kind`` the sync decides on: ``transient`` (5xx,
timeouts, refused connections: retried with backoff), ``validation`` (409 with field errors),
``not_found``, ``authorization``, ``bad_request``, ``refused`` (the guard said no).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import urllib3
from django.conf import settings

from dagr.core.errors import ValidationError
from dagr.monitoring.webhooks import Target, url_check

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
USER_AGENT = "DAGR-CKAN-Sync/1"
GET_ACTIONS = frozenset({"organization_show", "package_show", "resource_show", "status_show"})


@dataclass
class CkanError(Exception):
    kind: str  # transient | validation | not_found | authorization | bad_request | refused
    message: str
    status: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def allow_private() -> bool:
    return bool(getattr(settings, "DAGR_CKAN_ALLOW_PRIVATE", False))


def base_url_check(base_url: str) -> Target:
    """The checked target of a CKAN base URL; raises the guard's ``ValidationError``."""
    return url_check(base_url.rstrip("/") + "/api/3/action/", private_ok=allow_private())


def _timeout() -> urllib3.Timeout:
    return urllib3.Timeout(
        connect=float(getattr(settings, "DAGR_CKAN_CONNECT_TIMEOUT_S", 5.0)),
        read=float(getattr(settings, "DAGR_CKAN_READ_TIMEOUT_S", 20.0)),
    )


def _pool(target: Target, address: str) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            host=address,
            port=target.port,
            timeout=_timeout(),
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(
        host=address, port=target.port, timeout=_timeout(), retries=False, maxsize=1
    )


def _error_from(status: int, body: Any) -> CkanError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {}
    kind_of = {
        "Validation Error": "validation",
        "Not Found Error": "not_found",
        "Authorization Error": "authorization",
    }
    kind = kind_of.get(str(error.get("__type", "")), "")
    if not kind:
        kind = "transient" if status >= 500 else "bad_request"
    message = str(error.get("message") or error.get("__type") or f"HTTP {status}")[:500]
    fields = {k: v for k, v in error.items() if k not in ("__type", "message")}
    return CkanError(kind=kind, message=message, status=status, fields=fields)


class CkanClient:
    """One CKAN (base URL + API token). ``call`` returns the action's ``result``."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.requests = 0

    def __repr__(self) -> str:  # the token stays out of every representation
        return f"CkanClient({self.base_url!r})"

    def call(self, action: str, data: dict[str, Any]) -> Any:
        try:
            target = base_url_check(self.base_url)
        except ValidationError as exc:
            raise CkanError(kind="refused", message=str(exc.message)) from None
        path = target.path + action
        headers = {
            "host": target.host_header,
            "user-agent": USER_AGENT,
            "accept": "application/json",
        }
        if self._token:
            headers["authorization"] = self._token
        body: bytes | None = None
        method = "GET" if action in GET_ACTIONS else "POST"
        if method == "GET":
            path += "?" + urlencode({k: str(v) for k, v in data.items()})
        else:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json"
        self.requests += 1
        last = "no address to connect to"
        for address in target.addresses:
            pool = _pool(target, address)
            try:
                response = pool.urlopen(
                    method,
                    path,
                    body=body,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                )
            except urllib3.exceptions.NewConnectionError as exc:
                last = f"{type(exc).__name__}"
                pool.close()
                continue
            except urllib3.exceptions.HTTPError as exc:
                pool.close()
                raise CkanError(kind="transient", message=type(exc).__name__) from None
            try:
                raw = response.read(MAX_RESPONSE_BYTES, decode_content=True)
            except urllib3.exceptions.HTTPError as exc:
                raise CkanError(kind="transient", message=type(exc).__name__) from None
            finally:
                response.release_conn()
                pool.close()
            return self._answer(response.status, raw)
        raise CkanError(kind="transient", message=last)

    @staticmethod
    def _answer(status: int, raw: bytes) -> Any:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = None
        if status == 200 and isinstance(body, dict) and body.get("success") is True:
            return body.get("result")
        if 300 <= status < 400:
            raise CkanError(kind="bad_request", status=status, message="redirects are not followed")
        if body is None:
            kind = "transient" if status >= 500 or status in (408, 429) else "bad_request"
            raise CkanError(kind=kind, status=status, message=f"HTTP {status}")
        raise _error_from(status, body)
