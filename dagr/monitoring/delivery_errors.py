"""What went wrong with a webhook delivery, in words a person understands.

``Delivery.last_error`` (at most 500 characters) is stored as ``"<kind>: <technical detail>"``:

- a failed attempt (``deliveries._record_outcome``): ``kind`` is one of ``ATTEMPT_KINDS``,
  chosen by ``classify_attempt`` from the ``webhooks.PostResult`` (the HTTP status, or the
  exception name / error code that ``webhooks.webhook_post`` puts first in its error text);
- a feed error (``deliveries._feed_failed``): ``kind`` is the domain error's code
  (``cursor_outdated``, ``grant_revoked``, …).

The detail stays technical (English, for the recipient's administrators and the API's
``last_error``); the portal shows ``describe(...).label``, translated when the page is rendered,
with the detail in a ``<details>`` element. Rows written before the kinds existed are classified
from their text alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dagr.grants.errors import MESSAGES as GRANT_MESSAGES

MAX_LENGTH = 500  # Delivery.last_error
SECRET_UNREADABLE = "The signing secret cannot be decrypted: rotate the secret."  # noqa: S105

CONNECT = "connect"
TIMEOUT = "timeout"
TLS = "tls"
CLOSED = "closed"
HTTP = "http"
REDIRECT = "redirect"
ADDRESS = "address"
UNRESOLVABLE = "unresolvable"
SECRET = "secret"  # noqa: S105
OTHER = "other"

ATTEMPT_LABELS: dict[str, Any] = {
    CONNECT: _("Could not connect"),
    TIMEOUT: _("Timed out"),
    TLS: _("TLS certificate not accepted"),
    CLOSED: _("The connection was closed without an answer"),
    ADDRESS: _("The address is not allowed"),
    UNRESOLVABLE: _("The host name could not be resolved"),
    SECRET: _("The signing secret cannot be read: replace the secret"),
    OTHER: _("Sending failed"),
}
ATTEMPT_KINDS = frozenset([*ATTEMPT_LABELS, HTTP, REDIRECT])

# The first word of webhooks.webhook_post's error text → kind. NewConnectionError is a
# ConnectTimeoutError in urllib3 2, but its text names it, so the names are matched exactly.
_BY_NAME = {
    "NewConnectionError": CONNECT,
    "NameResolutionError": UNRESOLVABLE,
    "no address to connect to": CONNECT,
    "ConnectTimeoutError": TIMEOUT,
    "ReadTimeoutError": TIMEOUT,
    "TimeoutError": TIMEOUT,
    "SSLError": TLS,
    "ProtocolError": CLOSED,
    "webhook_url_not_allowed": ADDRESS,
    "webhook_url_invalid": UNRESOLVABLE,
}

_CODE = re.compile(r"[a-z]+(?:_[a-z]+)+")

FEED_REASONS: dict[str, Any] = {
    **GRANT_MESSAGES,
    "cursor_outdated": _(
        "The access terms or the record set's conditions changed, so sending started again from "
        "the beginning of the record set's changes."
    ),
    "quota_exceeded": _("The daily request quota of the access grant is used up"),
    "record_set_outdated": _(
        "The record set no longer fits the dataset's schema or your access grant. Change or "
        "delete the record set."
    ),
    "record_set_not_found": _("Record set not found."),
}


def classify_attempt(error: str, status_code: int | None = None) -> str:
    """The kind of a failed attempt (pure: the ``PostResult``'s error text and status)."""
    if status_code is not None:
        return REDIRECT if 300 <= status_code < 400 else HTTP
    if error == SECRET_UNREADABLE:
        return SECRET
    head = error.split(":", 1)[0].strip()
    if head in _BY_NAME:
        return _BY_NAME[head]
    if head.startswith("HTTP "):
        return REDIRECT if head[5:6] == "3" else HTTP
    lowered = error.lower()
    if "timed out" in lowered:
        return TIMEOUT
    if "certificate" in lowered:
        return TLS
    return OTHER


def attempt_error(error: str, status_code: int | None = None) -> str:
    """The stored ``last_error`` of a failed attempt."""
    return f"{classify_attempt(error, status_code)}: {error}"[:MAX_LENGTH]


def feed_error(code: str, message: Any) -> str:
    """The stored ``last_error`` of a feed error (no attempt was made)."""
    return f"{code}: {message}"[:MAX_LENGTH]


@dataclass(frozen=True)
class DeliveryError:
    kind: str
    label: str  # translated into the active language
    detail: str  # technical, as stored


def describe(last_error: str, status_code: int | None = None) -> DeliveryError | None:
    """The translated category and the technical detail of a stored ``last_error``."""
    if not last_error:
        return None
    head, sep, rest = last_error.partition(": ")
    if sep and head in ATTEMPT_KINDS:
        kind, detail = head, rest
    elif sep and head in FEED_REASONS:
        reason = gettext("Feed error: %(reason)s") % {"reason": FEED_REASONS[head]}
        return DeliveryError(kind=head, label=reason, detail=last_error)
    else:  # written before the kinds were stored
        kind, detail = classify_attempt(last_error, status_code), last_error
    if kind == HTTP:
        if status_code is None:
            number = detail.removeprefix("HTTP ").split(":", 1)[0]
            status_code = int(number) if number.isdigit() else None
        label = (
            gettext("The endpoint answered HTTP %(status)s") % {"status": status_code}
            if status_code is not None
            else gettext("The endpoint answered with an error")
        )
    elif kind == REDIRECT:
        label = gettext(
            "The endpoint answered with a redirect (HTTP %(status)s); redirects are not followed"
        ) % {"status": status_code or "3xx"}
    elif kind == OTHER and sep and _CODE.fullmatch(head):  # another feed error's code
        reason = gettext("the record set's changes could not be read")
        return DeliveryError(
            kind=head, label=gettext("Feed error: %(reason)s") % {"reason": reason}, detail=detail
        )
    else:
        label = str(ATTEMPT_LABELS.get(kind, ATTEMPT_LABELS[OTHER]))
    return DeliveryError(kind=kind, label=label, detail=detail)
