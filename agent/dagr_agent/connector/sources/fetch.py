"""Outgoing HTTP(S) for the sources: the SSRF guard (``dagr_agent.netguard``) on every request
and redirect, connections to the checked address only, a few retries, bounded bodies, and no
secret (they travel in headers) in any message."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin, urlsplit

import urllib3

from ... import netguard
from .base import SourceError

USER_AGENT = "dagr-agent/1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ATTEMPTS = 3
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Fetcher:
    allow_internal: bool = False
    timeout_s: float = 60.0
    headers: Mapping[str, str] | None = None  # may hold secrets (Authorization): never shown

    def _open(self, url: str) -> urllib3.BaseHTTPResponse:
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            host = (parts.hostname or "").rstrip(".")
            if scheme not in ("https", "http") or not host:
                raise SourceError(f"not an http(s) URL: {_shown(url)}")
            if scheme == "http" and not self.allow_internal:
                raise SourceError(f"the URL must use https: {_shown(url)}")
            if parts.username or parts.password:
                raise SourceError("put user names and passwords in the secrets, not in the URL")
            port = parts.port or (443 if scheme == "https" else 80)
            try:
                addresses = netguard.checked_addresses(
                    host, port, allow_internal=self.allow_internal
                )
            except netguard.AddressError as exc:
                raise SourceError(str(exc)) from None
            pool = netguard.connection_pool(
                scheme=scheme,
                host=host,
                port=port,
                address=addresses[0],
                timeout=urllib3.Timeout(connect=10.0, read=self.timeout_s),
            )
            default_port = 443 if scheme == "https" else 80
            host_header = host if port == default_port else f"{host}:{port}"
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = {"user-agent": USER_AGENT, "host": host_header, **(self.headers or {})}
            response = pool.urlopen(
                "GET",
                path,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
            )
            if response.status in (301, 302, 303, 307, 308) and response.headers.get("location"):
                response.drain_conn()
                url = urljoin(url, response.headers["location"])
                continue
            return response
        raise SourceError(f"too many redirects from {_shown(url)}")

    def get(self, url: str) -> urllib3.BaseHTTPResponse:
        """The answer to GET ``url`` (status 2xx, body not yet read); retries connection errors,
        429 and 5xx a few times; ``SourceError`` otherwise."""
        last = ""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(min(2.0**attempt, 10.0))
            try:
                response = self._open(url)
            except urllib3.exceptions.HTTPError as exc:
                last = f"{type(exc).__name__}"
                continue
            if response.status in RETRY_STATUSES:
                last = f"HTTP {response.status}"
                response.drain_conn()
                continue
            if response.status >= 400:
                body = response.read(300).decode("utf-8", "replace")
                response.release_conn()
                raise SourceError(f"{_shown(url)} answered HTTP {response.status}: {body}")
            return response
        raise SourceError(f"{_shown(url)} could not be read ({last})")

    def json(self, url: str, max_bytes: int) -> tuple[object, urllib3.BaseHTTPResponse]:
        import orjson

        response = self.get(url)
        try:
            data = response.read(max_bytes + 1)
        finally:
            response.release_conn()
        if len(data) > max_bytes:
            raise SourceError(f"{_shown(url)}: the answer is larger than {max_bytes} bytes")
        try:
            return orjson.loads(data), response
        except orjson.JSONDecodeError:
            raise SourceError(f"{_shown(url)} did not answer JSON") from None

    def download(self, url: str, into: IO[bytes], max_bytes: int) -> None:
        response = self.get(url)
        total = 0
        try:
            for chunk in response.stream(1024 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise SourceError(f"{_shown(url)} is larger than {max_bytes} bytes")
                into.write(chunk)
        finally:
            response.release_conn()
        into.seek(0)


def _shown(url: str) -> str:
    """The URL without its query (which may carry an API key) for messages."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
