"""The ``http`` source: a JSON API, page by page.

Options::

    url: https://api.example.lv/v1/persons
    items_path: data.items        # where the list of rows is in each answer ("" = the answer)
    paging: next                  # next | offset | none
    next_path: links.next         # for next: the next page's URL in the answer (else the
                                  # ``Link: <…>; rel="next"`` header)
    offset_param: offset          # for offset: the query parameters and the page size
    limit_param: limit
    page_size: 500
    after_param: changed_since    # optional: sends the saved cursor to the API
    params: {status: active}      # optional extra query parameters
    auth: bearer                  # none | bearer (secret ``token``) | basic (``username`` +
    username: reader              #   secret ``password``)
    allow_internal: false         # a private/loopback address only when true

Rows are read a page at a time (one page in memory); with a cursor column they are ordered
through a temporary on-disk spool (``base.ordered_after``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from .base import Column, SourceError, batched, infer_columns, mask, ordered_after
from .fetch import Fetcher

MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_PAGES = 1_000_000
SAMPLE_ROWS = 200


def _dig(data: object, path: str) -> object:
    for part in [p for p in path.split(".") if p]:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _with_params(url: str, params: Mapping[str, object]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(
        q for q in (parts.query, urlencode({k: str(v) for k, v in params.items()})) if q
    )
    return urlunsplit(parts._replace(query=query))


def _link_next(header: str | None) -> str | None:
    for part in (header or "").split(","):
        if 'rel="next"' in part or "rel=next" in part:
            start, end = part.find("<"), part.find(">")
            if 0 <= start < end:
                return part[start + 1 : end]
    return None


class HttpSource:
    def __init__(self, options: Mapping[str, object], secrets: Mapping[str, str]) -> None:
        self._secrets = dict(secrets)
        self._url = str(options.get("url") or "")
        if not self._url:
            raise SourceError("an http source needs a url")
        self._items_path = str(options.get("items_path") or "")
        self._paging = str(options.get("paging") or "none")
        if self._paging not in ("next", "offset", "none"):
            raise SourceError("paging must be next, offset or none")
        self._next_path = str(options.get("next_path") or "")
        self._offset_param = str(options.get("offset_param") or "offset")
        self._limit_param = str(options.get("limit_param") or "limit")
        self._page_size = int(str(options.get("page_size") or 500))
        self._after_param = str(options.get("after_param") or "")
        params = options.get("params") or {}
        if not isinstance(params, Mapping):
            raise SourceError("params must be a mapping")
        self._params = dict(params)
        headers = {"accept": "application/json"}
        auth = str(options.get("auth") or "none")
        if auth == "bearer":
            if not secrets.get("token"):
                raise SourceError("auth: bearer needs the secret token")
            headers["authorization"] = f"Bearer {secrets['token']}"
        elif auth == "basic":
            if not options.get("username") or not secrets.get("password"):
                raise SourceError("auth: basic needs username and the secret password")
            pair = f"{options['username']}:{secrets['password']}".encode()
            headers["authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
            self._secrets["_basic"] = base64.b64encode(pair).decode("ascii")
        elif auth != "none":
            raise SourceError("auth must be none, bearer or basic")
        self._fetcher = Fetcher(
            allow_internal=bool(options.get("allow_internal", False)), headers=headers
        )

    def __repr__(self) -> str:
        return f"<HttpSource {mask(self._url, self._secrets)}>"

    def _pages(self, after: object | None) -> Iterator[list[dict[str, object]]]:
        params = dict(self._params)
        if after is not None and self._after_param:
            params[self._after_param] = after
        offset = 0
        if self._paging == "offset":
            params[self._limit_param] = self._page_size
            params[self._offset_param] = offset
        url: str | None = _with_params(self._url, params)
        for _page in range(MAX_PAGES):
            if url is None:
                return
            try:
                data, response = self._fetcher.json(url, MAX_PAGE_BYTES)
            except SourceError as exc:
                raise SourceError(mask(str(exc), self._secrets)) from None
            items = _dig(data, self._items_path) if self._items_path else data
            if not isinstance(items, list):
                raise SourceError(f"no list of rows at items_path {self._items_path!r}")
            rows = [i for i in items if isinstance(i, dict)]
            if len(rows) != len(items):
                raise SourceError("every row of an http source must be a JSON object")
            if rows:
                yield rows
            if self._paging == "next":
                following = _dig(data, self._next_path) if self._next_path else None
                if not following:
                    following = _link_next(response.headers.get("link"))
                url = str(following) if following else None
                if url is not None:
                    url = urljoin(self._url, url)
            elif self._paging == "offset":
                if len(rows) < self._page_size:
                    return
                offset += len(rows)
                params[self._offset_param] = offset
                url = _with_params(self._url, params)
            else:
                return
        raise SourceError("too many pages")

    def columns(self) -> list[Column]:
        sample: list[dict[str, object]] = []
        for rows in self._pages(None):
            sample.extend(rows)
            if len(sample) >= SAMPLE_ROWS:
                break
        return infer_columns(sample[:SAMPLE_ROWS])

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]:
        rows = (row for page in self._pages(after) for row in page)
        if cursor_column:
            yield from ordered_after(rows, cursor_column, after, batch_size)
        else:
            yield from batched(rows, batch_size)

    def close(self) -> None:
        pass
