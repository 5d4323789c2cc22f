"""HTTP client for the DAGR API (urllib3): OAuth 2.0 client credentials, retries, problem+json.

- The access token is cached until shortly before it expires and fetched again on a 401.
- Connection errors, timeouts, 5xx and 429 answers are retried with exponential backoff and full
  jitter (a ``Retry-After`` header is respected) for up to ``retry_for_seconds``; then
  ``GiveUp`` with the last error.
- Other error answers raise ``ApiError`` carrying the problem+json ``code`` and ``title``.
- The secret and the token never appear in messages or logs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from .config import DagrSettings

log = logging.getLogger("dagr.sync")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
USER_AGENT = "dagr-sync/1"


class SyncError(Exception):
    """An error to show to the person running the connector."""


class ApiError(SyncError):
    def __init__(self, status: int, code: str, title: str, detail: str = "") -> None:
        self.status, self.code, self.title, self.detail = status, code, title, detail
        text = f"HTTP {status} {code}: {title}"
        super().__init__(text + (f" ({detail})" if detail and detail != title else ""))


class GiveUp(SyncError):
    """Retried for the configured time without success."""


def _problem(status: int, body: bytes) -> ApiError:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        return ApiError(
            status,
            str(data.get("code") or data.get("error") or "error"),
            str(data.get("title") or data.get("error_description") or ""),
            str(data.get("detail") or ""),
        )
    return ApiError(status, "http_error", body[:200].decode("utf-8", "replace").strip())


class Client:
    def __init__(
        self,
        settings: DagrSettings,
        secret: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self._secret = secret
        self._sleep = sleep
        self._stop = stop
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()
        self.http = urllib3.PoolManager(
            num_pools=4,
            maxsize=4,
            retries=False,
            timeout=urllib3.Timeout(connect=10.0, read=settings.timeout_seconds),
            headers={"User-Agent": USER_AGENT},
        )

    # --- transport with retries ------------------------------------------------------------
    def _send(
        self, method: str, url: str, *, body: Any = None, headers: dict[str, str]
    ) -> urllib3.BaseHTTPResponse:
        started = time.monotonic()
        attempt = 0
        while True:
            reason: str
            wait: float | None = None
            if hasattr(body, "seek"):
                body.seek(0)  # a file body is sent again from its start on a retry
            try:
                response = self.http.request(method, url, body=body, headers=headers)
            except Urllib3Error as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.status not in RETRY_STATUSES:
                    return response
                problem = _problem(response.status, response.data)
                reason = str(problem)
                wait = _retry_after(response.headers.get("Retry-After"))
            attempt += 1
            backoff = random.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2**attempt))  # noqa: S311
            delay = max(backoff, wait or 0.0)
            elapsed = time.monotonic() - started
            if elapsed + delay > self.settings.retry_for_seconds:
                raise GiveUp(
                    f"{method} {_safe(url)} failed for {elapsed:.0f} s "
                    f"({attempt} attempts); last error: {reason}"
                )
            log.warning(
                "%s %s: %s — retrying in %.1f s (attempt %d)",
                method, _safe(url), reason, delay, attempt,
            )  # fmt: skip
            if self._stop is not None:
                if self._stop.wait(delay):
                    raise GiveUp("stopped while waiting to retry")
            else:
                self._sleep(delay)

    # --- token -----------------------------------------------------------------------------
    def _fetch_token(self) -> None:
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.settings.client_id,
                "client_secret": self._secret,
            }
        ).encode()
        response = self._send(
            "POST",
            self.settings.resolved_token_url,
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        if response.status != 200:
            raise _problem(response.status, response.data)
        data = orjson.loads(response.data)
        lifetime = float(data.get("expires_in") or 300)
        self._token = str(data["access_token"])
        # Renew a little before expiry (10% of the lifetime, at most a minute).
        self._token_expires = time.monotonic() + lifetime - min(60.0, lifetime / 10)

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _forget_token(self, used: str) -> None:
        with self._lock:
            if self._token == used:
                self._token = None

    # --- JSON calls ------------------------------------------------------------------------
    def get_json(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        url = self.settings.base_url + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urlencode(query)
        for attempt in range(2):
            sent = {"Accept": "application/json", **(headers or {})}
            token = self.token() if auth else ""
            if auth:
                sent["Authorization"] = f"Bearer {token}"
            response = self._send("GET", url, headers=sent)
            if response.status == 401 and auth and attempt == 0:
                self._forget_token(token)
                continue
            if response.status >= 400:
                raise _problem(response.status, response.data)
            return orjson.loads(response.data)
        raise AssertionError("unreachable")

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry: bool = True,
    ) -> Any:
        """One authenticated call; the decoded JSON answer (``None`` for 204). ``body`` may be
        bytes, a binary file (sent with its length, from its start on every retry) or an
        iterator of bytes (sent chunked, never retried: it cannot be sent twice)."""
        url = self.settings.base_url + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urlencode(query)
        sent = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = orjson.dumps(json_body)
            sent["Content-Type"] = "application/json"
        streamed = body is not None and not isinstance(body, bytes) and not hasattr(body, "seek")
        for attempt in range(2):
            token = self.token()
            sent["Authorization"] = f"Bearer {token}"
            if streamed or not retry:
                try:
                    response = self.http.request(
                        method, url, body=body, headers=sent, chunked=streamed
                    )
                except Urllib3Error as exc:
                    raise SyncError(f"{method} {_safe(url)}: {type(exc).__name__}") from None
            else:
                response = self._send(method, url, body=body, headers=sent)
            if response.status == 401 and attempt == 0 and not streamed:
                self._forget_token(token)
                continue
            if response.status >= 400:
                raise _problem(response.status, response.data)
            return orjson.loads(response.data) if response.data else None
        raise AssertionError("unreachable")

    def dataset(self, code: str) -> dict[str, Any]:
        return self.get_json(f"/api/v1/catalog/datasets/{quote(code, safe='')}", auth=False)

    def grants(self) -> list[dict[str, Any]]:
        return list(self.get_json("/api/v1/data/grants")["permissions"])

    def changes(
        self, code: str, permission_number: str, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        headers = {"X-Permission-Number": permission_number}
        if self.settings.purpose:
            # header values are ASCII: DAGR reads X-Purpose as percent-encoded UTF-8
            headers["X-Purpose"] = quote(self.settings.purpose, safe="")
        return self.get_json(
            f"/api/v1/data/{quote(code, safe='')}/changes",
            params={"cursor": cursor, "limit": limit},
            headers=headers,
        )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _safe(url: str) -> str:
    """The URL without its query (cursors are long and say nothing to a person)."""
    return url.split("?", 1)[0]
