"""The ``http`` source against a JSON API on loopback (a thread), the ``file`` source with local
files and the same files over HTTP, and secrets kept out of every message."""

from __future__ import annotations

import base64
import http.server
import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from openpyxl import Workbook

from dagr_agent.connector.sources import Column, SourceError, source_open

TOKEN = "tok-Zq8vW3!secret"
PASSWORD = "pw-Hk2/Jx9+secret"
ROWS = [
    {"id": i, "name": f"N{i}", "changed": f"2026-01-{1 + (i * 7) % 28:02d}"} for i in range(1, 24)
]


class Api(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        auth = self.headers.get("authorization", "")
        if parts.path.startswith("/files/"):
            self._send(200, self.files[parts.path.removeprefix("/files/")])
            return
        if parts.path == "/echo-auth":  # a careless API that repeats the credentials
            self._send(401, f"bad credentials {auth}".encode())
            return
        if parts.path == "/next":
            if auth != f"Bearer {TOKEN}":
                self._send(401, b"{}")
                return
            page = int(query.get("page", "0"))
            chunk = ROWS[page * 10 : page * 10 + 10]
            nxt = f"/next?page={page + 1}" if page * 10 + 10 < len(ROWS) else None
            self._send(200, orjson.dumps({"data": {"items": chunk}, "links": {"next": nxt}}))
            return
        if parts.path == "/offset":
            expected = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
            if auth != expected:
                self._send(401, b"{}")
                return
            offset, limit = int(query["offset"]), int(query["limit"])
            rows = [r for r in ROWS if r["changed"] > query.get("since", "")]
            self._send(200, orjson.dumps(rows[offset : offset + limit]))
            return
        self._send(404, b"{}")


@pytest.fixture
def api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _all(source: Any, **kw: Any) -> list[dict[str, object]]:
    try:
        return [row for batch in source.read(**kw) for row in batch]
    finally:
        source.close()


def test_http_next_link_paging_with_a_bearer_token(api: str) -> None:
    options = {
        "url": f"{api}/next",
        "items_path": "data.items",
        "paging": "next",
        "next_path": "links.next",
        "auth": "bearer",
        "allow_internal": True,
    }
    source = source_open("http", options, {"token": TOKEN})
    assert source.columns() == [
        Column("id", "integer"),
        Column("name", "string"),
        Column("changed", "string"),
    ]
    assert [r["id"] for r in _all(source, batch_size=4)] == list(range(1, 24))
    # a cursor: only later rows, in cursor order (the API does not sort them)
    later = _all(
        source_open("http", options, {"token": TOKEN}), cursor_column="changed", after="2026-01-20"
    )
    assert [r["changed"] for r in later] == sorted(
        r["changed"] for r in ROWS if r["changed"] > "2026-01-20"
    )


def test_http_offset_paging_with_basic_auth_and_the_cursor_sent(api: str) -> None:
    options = {
        "url": f"{api}/offset",
        "paging": "offset",
        "page_size": 5,
        "auth": "basic",
        "username": "reader",
        "after_param": "since",
        "allow_internal": True,
    }
    rows = _all(source_open("http", options, {"password": PASSWORD}))
    assert sorted(r["id"] for r in rows) == list(range(1, 24))  # type: ignore[type-var]
    later = _all(
        source_open("http", options, {"password": PASSWORD}),
        cursor_column="changed",
        after="2026-01-14",
    )
    assert {r["id"] for r in later} == {r["id"] for r in ROWS if r["changed"] > "2026-01-14"}


def test_internal_addresses_are_refused_unless_allowed(api: str) -> None:
    source = source_open("http", {"url": f"{api}/next"}, {})
    with pytest.raises(SourceError, match="https"):
        _all(source)
    source = source_open("http", {"url": "https://127.0.0.1:1/x"}, {})
    with pytest.raises(SourceError, match="internal"):
        _all(source)
    # the file source's downloads go through the same check (a name resolving to loopback)
    file_source = source_open("file", {"url": "https://localhost/files/a.csv"}, {})
    with pytest.raises(SourceError, match="internal"):
        _all(file_source)


def test_secrets_appear_in_no_message_repr_or_log(
    api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    for options, secrets in (
        ({"url": f"{api}/echo-auth", "auth": "bearer", "allow_internal": True}, {"token": TOKEN}),
        (
            {"url": f"{api}/echo-auth", "auth": "basic", "username": "u", "allow_internal": True},
            {"password": PASSWORD},
        ),
        (
            {"url": "mysql+pymysql://nobody@127.0.0.1:1/x", "table": "t", "allow_internal": True},
            {"password": PASSWORD},
        ),
    ):
        source = source_open("http" if "echo" in str(options["url"]) else "sql", options, secrets)
        seen.append(repr(source))
        with pytest.raises(SourceError) as caught:
            _all(source)
        seen += [str(caught.value), repr(caught.value)]
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    seen += [r.getMessage() for r in caplog.records]
    text = "\n".join(seen)
    assert "bad credentials" in text or "401" in text  # the errors were really shown
    for secret in (TOKEN, PASSWORD, base64.b64encode(f"u:{PASSWORD}".encode()).decode()):
        assert secret not in text


def _xlsx(rows: list[dict[str, object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _files() -> dict[str, bytes]:
    csv = "id;name;changed\n" + "".join(
        f"{r['id']};{r['name']};{r['changed']}\n" for r in ROWS[:10]
    )
    return {
        "a.csv": csv.encode("utf-8"),
        "b.ndjson": b"".join(orjson.dumps(r) + b"\n" for r in ROWS[10:15]),
        "c.json": orjson.dumps(ROWS[15:20]),
        "d.xlsx": _xlsx(ROWS[20:]),
    }


def test_local_files_of_every_format_through_the_upload_parser(tmp_path: Path) -> None:
    for name, data in _files().items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "notes.txt").write_text("not data")
    rows = _all(source_open("file", {"path": str(tmp_path)}, {}), batch_size=6)
    assert sorted(int(str(r["id"])) for r in rows) == list(range(1, 24))
    assert {"id": "1", "name": "N1", "changed": ROWS[0]["changed"]} in rows  # CSV: text cells
    only_csv = source_open("file", {"path": str(tmp_path / "*.csv")}, {})
    assert only_csv.columns() == [Column(n, "string") for n in ("id", "name", "changed")]
    later = _all(
        source_open("file", {"path": str(tmp_path)}, {}), cursor_column="id", after=18, batch_size=2
    )
    assert [int(str(r["id"])) for r in later] == [19, 20, 21, 22, 23]  # "19" > 18 as numbers


def test_a_broken_file_names_the_file_and_the_row(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("id,name\n1,a\n2,b,c\n")
    with pytest.raises(SourceError, match=r"bad\.csv: Row 2 has 3 columns"):
        _all(source_open("file", {"path": str(tmp_path / "bad.csv")}, {}))


def test_files_over_http(api: str) -> None:
    Api.files = _files()
    rows = _all(source_open("file", {"url": f"{api}/files/d.xlsx", "allow_internal": True}, {}))
    assert [r["id"] for r in rows] == [21, 22, 23]
    with pytest.raises(SourceError, match="larger than"):
        _all(
            source_open(
                "file", {"url": f"{api}/files/a.csv", "allow_internal": True, "max_bytes": 10}, {}
            )
        )


def test_files_over_sftp_with_a_password_and_with_a_key(tmp_path: Path) -> None:
    import paramiko
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.agent.sftp_server import USER, SftpServer

    root = tmp_path / "exports"
    root.mkdir()
    for name, data in _files().items():
        (root / name).write_bytes(data)
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    client_key = paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
    with SftpServer(root, password=PASSWORD, client_key=client_key) as server:
        sftp = {"host": "127.0.0.1", "port": server.port, "username": USER, "path": "/*.csv",
                "host_key": server.host_key}  # fmt: skip
        rows = _all(
            source_open("file", {"sftp": sftp, "allow_internal": True}, {"password": PASSWORD})
        )
        assert [r["id"] for r in rows] == [str(i) for i in range(1, 11)]
        every = dict(sftp, path="/*")
        rows = _all(
            source_open("file", {"sftp": every, "allow_internal": True}, {"private_key": pem})
        )
        assert len(rows) == 23
        # a server showing another host key is refused before any secret is sent
        wrong = dict(
            sftp, host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKey"
        )
        with pytest.raises(SourceError, match="host_key") as caught:
            _all(
                source_open("file", {"sftp": wrong, "allow_internal": True}, {"password": PASSWORD})
            )
        assert PASSWORD not in str(caught.value)
        with pytest.raises(SourceError, match=r"SFTP to 127\.0\.0\.1 failed") as caught:
            _all(
                source_open(
                    "file", {"sftp": sftp, "allow_internal": True}, {"password": "wrong-pw"}
                )
            )
        assert "wrong-pw" not in str(caught.value)
        with pytest.raises(SourceError, match="internal"):
            _all(source_open("file", {"sftp": sftp}, {"password": PASSWORD}))
