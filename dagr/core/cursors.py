"""Opaque page cursors shared by the paged APIs: ``prefix:part:…`` as URL-safe base64 without
padding. The prefix names the cursor's kind and version, so a cursor of one list is refused by
another. Hand-written: a few lines around ``base64`` that no library offers in this shape."""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext_lazy as _

from .errors import ValidationError

MAX_LENGTH = 400


def invalid_cursor() -> ValidationError:
    message = _("The cursor is not valid.")
    return ValidationError(
        message,
        code="invalid_cursor",
        errors=[{"location": "cursor", "code": "invalid_cursor", "message": str(message)}],
    )


def cursor_encode(prefix: str, *parts: object) -> str:
    text = ":".join([prefix, *(str(p) for p in parts)])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, prefix: str, count: int) -> list[str]:
    """The ``count`` parts a cursor of kind ``prefix`` carries (the last may contain ``:``);
    ``invalid_cursor`` for anything else."""
    try:
        if len(cursor) > MAX_LENGTH:
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None
    head, sep, rest = text.partition(":")
    parts = rest.split(":", count - 1)
    if head != prefix or not sep or len(parts) != count:
        raise invalid_cursor()
    return parts
