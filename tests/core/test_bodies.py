"""The one reader of streamed request bodies (``dagr.core.bodies``), against WSGI inputs that
behave like granian's: short reads, a ``readline`` that drops the newline, chunked bodies
without ``CONTENT_LENGTH``, a client that goes away."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIRequest

from dagr.core import bodies


class GranianLikeInput:
    """``read(n)`` returns at most ``short`` bytes at a time; ``readline`` returns a line without
    its ``\\n`` and keeps the ``\\n`` (granian 2.8's ``WSGIBody``); ``cut_after`` bytes in, the
    body ends as if the client went away."""

    def __init__(self, data: bytes, *, short: int = 7, cut_after: int | None = None) -> None:
        self.data, self.pos, self.short = data, 0, short
        self.end = len(data) if cut_after is None else cut_after

    def read(self, size: int | None = None) -> bytes:
        size = self.end - self.pos if size is None else size
        chunk = self.data[self.pos : min(self.pos + min(size, self.short), self.end)]
        self.pos += len(chunk)
        return chunk

    def readline(self, size: int | None = None) -> bytes:
        rest = self.data[self.pos : self.end]
        at = rest.find(b"\n")
        line = rest if at < 0 else rest[:at]
        self.pos += len(line)
        return line


def request_for(
    data: bytes, *, content_length: int | str | None = "auto", terminated: bool = True, **kw: Any
) -> WSGIRequest:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": GranianLikeInput(data, **kw),
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/x-ndjson",
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    if content_length == "auto":
        environ["CONTENT_LENGTH"] = str(len(data))
    elif content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    return WSGIRequest(environ)


BODY = '{"a": 1}\r\n\n{"name": "Rīga ūdens"}\n{"b": 2}'.encode()
LINES = [b'{"a": 1}', b"", '{"name": "Rīga ūdens"}'.encode(), b'{"b": 2}']


@pytest.mark.parametrize("short", [1, 2, 3, 7, 1000])
def test_lines_are_whole_across_short_reads_and_split_characters(short):
    request = request_for(BODY, short=short)
    assert list(bodies.split_lines(bodies.body_blocks(request, limit=1000, block=5))) == LINES


def test_djangos_own_line_reading_loses_lines_under_such_an_input():
    """Why the reader exists: iterating the request (the old NDJSON reader) sees one line."""
    assert list(request_for(BODY, short=10_000)) == [b'{"a": 1}\r']


def test_a_chunked_body_without_content_length_is_read_to_its_end():
    request = request_for(BODY, content_length=None)
    assert request.read() == b""  # Django: no CONTENT_LENGTH is an empty body
    request = request_for(BODY, content_length=None)
    assert list(bodies.split_lines(bodies.body_blocks(request, limit=1000))) == LINES


def test_without_length_or_terminated_input_there_is_no_body():
    request = request_for(BODY, content_length=None, terminated=False)
    assert list(bodies.body_blocks(request, limit=1000)) == []


def test_a_body_shorter_than_its_content_length_is_incomplete():
    request = request_for(BODY, cut_after=20)
    with pytest.raises(bodies.IncompleteBody) as caught:
        list(bodies.body_blocks(request, limit=1000))
    assert caught.value.code == "incomplete_body"
    assert caught.value.extra == {"received_bytes": 20, "declared_bytes": len(BODY)}


def test_the_limit_holds_for_declared_and_for_chunked_bodies():
    with pytest.raises(bodies.PayloadTooLarge):
        next(bodies.body_blocks(request_for(BODY), limit=10))
    blocks = bodies.body_blocks(request_for(BODY, content_length=None), limit=10, block=4)
    with pytest.raises(bodies.PayloadTooLarge):
        list(blocks)


def test_a_bad_content_length_is_a_clear_error():
    with pytest.raises(bodies.ValidationError) as caught:
        list(bodies.body_blocks(request_for(BODY, content_length="-3"), limit=1000))
    assert caught.value.code == "invalid_content_length"


def test_a_last_line_without_newline_and_a_lone_carriage_return():
    assert list(bodies.split_lines([b"a\r", b"\nb", b"c\r\n", b"d"])) == [b"a", b"bc", b"d"]
    assert list(bodies.split_lines([b"a\n", b""])) == [b"a"]


class BrokenInput(GranianLikeInput):
    def read(self, size: int | None = None) -> bytes:
        if self.pos >= 10:
            raise OSError("connection reset")
        return super().read(size)


def test_a_broken_connection_is_incomplete_with_or_without_length():
    for length in ("auto", None):
        request = request_for(BODY, content_length=length)
        request.META["wsgi.input"] = BrokenInput(BODY, short=5)
        with pytest.raises(bodies.IncompleteBody) as caught:
            list(bodies.body_blocks(request, limit=1000))
        assert caught.value.extra["received_bytes"] == 10


# --- chunked bodies that Django parses itself (config/wsgi.py) --------------------------------


def chunked_environ(data: bytes, media_type: str, **kw: Any) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/data/x/lookup",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": GranianLikeInput(data, **kw),
        "wsgi.url_scheme": "http",
        "wsgi.input_terminated": True,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "CONTENT_TYPE": media_type,
    }


def test_a_chunked_json_body_is_given_its_length_so_django_reads_it() -> None:
    data = '{"field": "personal_code", "values": ["Rīga"]}'.encode()
    environ = chunked_environ(data, "application/json")
    assert WSGIRequest(dict(environ)).body == b""  # what Django alone sees: nothing
    bodies.chunked_body_with_length(environ, limit=1024)
    assert environ["CONTENT_LENGTH"] == str(len(data))
    assert WSGIRequest(environ).body == data


def test_a_chunked_form_body_reaches_request_post() -> None:
    environ = chunked_environ(b"grant_type=client_credentials&client_id=a%C4%81", "")
    environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    bodies.chunked_body_with_length(environ, limit=1024)
    assert WSGIRequest(environ).POST["client_id"] == "aā"


def test_a_chunked_body_over_the_limit_is_declared_longer_than_the_limit() -> None:
    environ = chunked_environ(b"x" * 5000, "application/json", short=100)
    bodies.chunked_body_with_length(environ, limit=1000)
    assert environ["CONTENT_LENGTH"] == "1001"  # refused by any size check; no more is kept
    assert len(environ["wsgi.input"].read()) == 1001


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("CONTENT_TYPE", "application/x-ndjson"),  # streamed by body_blocks itself
        ("CONTENT_LENGTH", "10"),  # has a length already
        ("REQUEST_METHOD", "GET"),
        ("HTTP_TRANSFER_ENCODING", ""),
    ],
)
def test_other_requests_are_left_alone(change: str, value: str) -> None:
    environ = chunked_environ(b'{"a": 1}', "application/json")
    environ[change] = value
    original = environ["wsgi.input"]
    bodies.chunked_body_with_length(environ, limit=1024)
    assert environ["wsgi.input"] is original
    assert environ.get("CONTENT_LENGTH") in (None, "10")
