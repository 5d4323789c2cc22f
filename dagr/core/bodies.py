"""Reading a request body as a stream: the one reader of hand-read request bodies.

Django's own reading of ``wsgi.input`` cannot be trusted for streamed bodies under granian
(measured with granian 2.8, ``granian/src/wsgi/types.rs``):

- granian's ``wsgi.input.readline()`` returns a line *without* its ``\\n`` and leaves the ``\\n``
  in its buffer, so the next ``readline()`` returns ``b""`` — which Django's
  ``iter(request.readline, b"")`` takes for the end of the body: only the first line was read;
- a chunked body has no ``CONTENT_LENGTH``; Django then wraps ``wsgi.input`` in a
  ``LimitedStream`` of length 0 and the body reads as empty. granian declares
  ``wsgi.input_terminated`` (the input ends with the body), so we read ``wsgi.input`` itself to
  its end;
- ``read(n)`` may return fewer than ``n`` bytes (any WSGI server may), and granian turns an error
  while receiving (the client went away) into the end of the body.

So this module reads blocks with ``read(n)`` only and splits lines itself. A body with a
``Content-Length`` must deliver exactly that many bytes or the request fails with
``incomplete_body`` (400); the size limit is enforced while reading (413). A chunked body that
the client cuts off exactly at a line boundary cannot be told from a complete one at this layer
(granian reports the cut as the end): clients that need that certainty send ``Content-Length``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import DomainError, ValidationError

READ_BLOCK = 1024 * 1024


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title = gettext_lazy("The request body is too large")


class IncompleteBody(DomainError):
    code = "incomplete_body"
    status = 400
    title = gettext_lazy("The request body was not received completely")


def too_large(limit: int, hint: str = "") -> PayloadTooLarge:
    message = _("The request body is larger than %(mb)s MB.") % {"mb": f"{limit / 1024 / 1024:g}"}
    return PayloadTooLarge(f"{message} {hint}".strip(), limit_bytes=limit)


def declared_length(request: HttpRequest) -> int | None:
    """The body's ``Content-Length``, or ``None`` when the request does not declare one."""
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValidationError(
            _("The Content-Length header is not a valid number."), code="invalid_content_length"
        )
    return value


def body_blocks(
    request: HttpRequest, *, limit: int, block: int = READ_BLOCK, hint: str = ""
) -> Iterator[bytes]:
    """The raw request body in blocks of at most ``block`` bytes, read as it arrives; each block
    also goes to ``request.body_hasher`` when one is set (``hashlib`` object: the digest of a
    streamed body, e.g. for ``Idempotency-Key``). Details in ``_blocks``."""
    hasher = getattr(request, "body_hasher", None)
    for chunk in _blocks(request, limit=limit, block=block, hint=hint):
        if hasher is not None:
            hasher.update(chunk)
        yield chunk


def _blocks(request: HttpRequest, *, limit: int, block: int, hint: str) -> Iterator[bytes]:
    """The raw request body in blocks of at most ``block`` bytes, read as it arrives.

    With a ``Content-Length``: exactly that many bytes (more than ``limit`` declared → 413 at
    once; fewer delivered → ``IncompleteBody``). Without one: to the end of ``wsgi.input`` when
    the server terminates the input (``wsgi.input_terminated``, as granian does for a chunked
    body), otherwise no body (PEP 3333 forbids reading past the declared length). More than
    ``limit`` bytes → ``PayloadTooLarge`` while reading. ``hint`` is added to the 413 message.
    """
    if getattr(request, "_body", None) is not None:  # already read by someone (request.body)
        body: bytes = request._body
        if len(body) > limit:
            raise too_large(limit, hint)
        for start in range(0, len(body), block):
            yield body[start : start + block]
        return
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise too_large(limit, hint)
    stream = request.META.get("wsgi.input")
    if stream is None or (declared is None and not request.META.get("wsgi.input_terminated")):
        return
    request._read_started = True  # type: ignore[attr-defined]  # Django must not read it again
    size = 0
    while declared is None or size < declared:
        want = block if declared is None else min(block, declared - size)
        try:
            chunk = stream.read(want)
        except OSError:  # the connection broke: incomplete whatever was declared
            chunk, broken = b"", True
        else:
            broken = False
        if not chunk:
            if declared is not None:
                raise IncompleteBody(
                    _(
                        "The request body ended after %(received)s of the %(declared)s bytes "
                        "its Content-Length declares; nothing was written."
                    )
                    % {"received": size, "declared": declared},
                    received_bytes=size,
                    declared_bytes=declared,
                )
            if broken:
                raise IncompleteBody(
                    _(
                        "The connection broke after %(received)s bytes of the request body; "
                        "nothing was written."
                    )
                    % {"received": size},
                    received_bytes=size,
                )
            return
        size += len(chunk)
        if size > limit:
            raise too_large(limit, hint)
        yield chunk


def body_bytes(request: HttpRequest, *, limit: int, hint: str = "") -> bytes:
    """The whole request body (for bodies that are parsed whole), bounded by ``limit``."""
    return b"".join(body_blocks(request, limit=limit, hint=hint))


def split_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a byte stream given in blocks of any size, without their ``\\n`` or
    ``\\r\\n``; a last line without a newline is a line too. Splitting bytes on ``\\n`` never
    cuts a UTF-8 sequence (no byte of a multi-byte sequence is ``\\n``), so a character split
    across two blocks is joined again before the line is yielded."""
    carry = b""
    for block in blocks:
        if not block:
            continue
        parts = block.split(b"\n")
        if carry:
            parts[0] = carry + parts[0]
        carry = parts.pop()
        for line in parts:
            yield line[:-1] if line.endswith(b"\r") else line
    if carry:
        yield carry[:-1] if carry.endswith(b"\r") else carry


# --- chunked bodies of requests that Django parses itself -----------------------------------------

STREAMED_MEDIA_TYPES = frozenset(
    ("application/x-ndjson", "application/ndjson", "application/jsonl")
)
SPOOL_IN_MEMORY = 1024 * 1024


def chunked_body_with_length(environ: dict, *, limit: int) -> None:
    """Give a chunked request body (no ``Content-Length``) a length, so that Django's own body
    handling (``request.body``, ``request.POST``/``FILES``, ninja's JSON and form parsing) reads
    it instead of seeing an empty body: Django wraps ``wsgi.input`` in a ``LimitedStream`` of
    ``CONTENT_LENGTH`` bytes, 0 when the header is missing.

    Called by the WSGI entry point for every request. Only requests whose input the server
    terminates (``wsgi.input_terminated``, as granian does) and that carry a body are touched;
    streamed media types (NDJSON) are left alone — ``body_blocks`` reads them as they arrive.
    The body is spooled (memory up to 1 MiB, then a temporary file) up to ``limit`` + 1 bytes;
    a longer body is declared as ``limit`` + 1 bytes long, which every size check of the
    application then refuses with 413 (nothing larger is ever kept)."""
    if environ.get("CONTENT_LENGTH") not in (None, "") or not environ.get("wsgi.input_terminated"):
        return
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    media_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media_type in STREAMED_MEDIA_TYPES:
        return
    import tempfile  # only chunked requests pay for it

    stream = environ["wsgi.input"]
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    while size <= limit:
        chunk = stream.read(min(READ_BLOCK, limit + 1 - size))
        if not chunk:
            break
        spool.write(chunk)
        size += len(chunk)
    spool.seek(0)
    environ["wsgi.input"] = spool
    environ["CONTENT_LENGTH"] = str(size)
