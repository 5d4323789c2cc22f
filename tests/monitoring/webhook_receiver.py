"""A real HTTP webhook receiver on loopback for the webhook tests: records every request and
answers as scripted (a status code, or "close" to drop the connection without an answer)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)  # answers to the next requests
    default: int | str = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int | str:
        with self.lock:
            return self.script.pop(0) if self.script else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            answer = receiver.next_answer()
            if answer == "close":
                self.close_connection = True
                self.connection.close()
                return
            if answer == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = b"x" * 200_000 if answer == "huge" else b"ok"
            self.send_response(200 if answer == "huge" else int(answer))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.DAGR_WEBHOOK_ALLOW_PRIVATE = True
    with serving(path="/hook?x=1") as box:
        yield box


@contextmanager
def serving(*, path: str) -> Iterator[Receiver]:
    """A webhook receiver on a loopback port (``box.url`` ends with ``path``); stops after."""
    box = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    box.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
