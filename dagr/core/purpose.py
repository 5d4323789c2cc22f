"""How a recipient's stated purpose travels in the ``X-Purpose`` header — the ONE place that
reads it (ninja's retrieval operations, the hand-written hot path and the record sets' feed).

HTTP header values are bytes, in practice ASCII, so a purpose in Latvian
(``Nodokļu administrēšana``) is sent **percent-encoded UTF-8** (RFC 3986, as
``urllib.parse.quote(purpose, safe="")`` writes it: ``Nodok%C4%BCu%20administr%C4%93%C5%A1ana``).
The rule:

- plain ASCII without ``%`` is taken as it is; ``%XX`` sequences are decoded as UTF-8 (a ``%``
  not followed by two hex digits stays as it is);
- raw non-ASCII header bytes (a WSGI server hands them over as latin-1 characters) are read as
  UTF-8: accepted when they are valid UTF-8, refused otherwise;
- refused with 400 ``invalid_purpose``: bytes that are not valid UTF-8 (``%E2%82``), control
  characters (``%00``, ``%0A``…), more than 255 characters after decoding.

A refused purpose is never replaced by an empty one: the request is not served (and so not
audited as served).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.utils.translation import gettext_lazy as _
from ninja import Header

from .errors import DomainError

MAX_PURPOSE_LENGTH = 255
# The operations' parameter (decode it with ``purpose_from_header``).
PURPOSE_HEADER = Header(
    None,
    alias="X-Purpose",
    description=(
        "Why the data is needed (optional; audited). Text that is not ASCII is sent "
        "percent-encoded UTF-8 (`Nodok%C4%BCu%20administr%C4%93%C5%A1ana`); at most 255 "
        "characters; undecodable: 400 `invalid_purpose`."
    ),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidPurpose(DomainError):
    code = "invalid_purpose"
    status = 400
    title = _("The purpose (X-Purpose) is not valid")


def purpose_from_header(value: str | None) -> str:
    """The purpose as text from the raw ``X-Purpose`` header value ('' when none was sent);
    raises ``InvalidPurpose``."""
    if not value:
        return ""
    text = value
    if not text.isascii():
        try:
            text = text.encode("latin-1").decode("utf-8")
        except UnicodeEncodeError:
            pass  # already text, not header bytes (only an in-process client can send it)
        except UnicodeDecodeError:
            raise _invalid() from None
    if "%" in text:
        try:
            text = unquote(text, errors="strict")
        except UnicodeDecodeError:
            raise _invalid() from None
    if _CONTROL.search(text):
        raise InvalidPurpose(
            _("The purpose must not contain control characters (line breaks, tabs, NUL)."),
        )
    if len(text) > MAX_PURPOSE_LENGTH:
        raise InvalidPurpose(
            _("The purpose is longer than %(max)d characters.") % {"max": MAX_PURPOSE_LENGTH},
        )
    return text


def _invalid() -> InvalidPurpose:
    return InvalidPurpose(
        _(
            "The purpose is not valid UTF-8. Send it percent-encoded (UTF-8, RFC 3986), "
            "e.g. %(example)s."
        )
        % {"example": "Nodok%C4%BCu%20administr%C4%93%C5%A1ana"}
    )
