"""``Idempotency-Key`` on the provider loads (POST records, the deletes): a repeat of a request
with the same key from the same connection within 24 hours gets the first answer (status and
body, with ``Idempotent-Replayed: true``) and loads nothing again; the same key with a different
request (method, path, query or body) is refused with 422 ``idempotency_key_reused``.

The request is identified by a SHA-256 of its method, path and query string and its body, hashed
as the load streams it (``dagr.core.bodies``: ``request.body_hasher``), so an NDJSON body is still
never held whole. Only successful answers are kept: a refused load writes nothing, and the client
may send it again with the same key. The key is stored after the load's own transaction; two
concurrent first requests with one key may both load (a load of the same data is idempotent
anyway: the records count as ``unchanged``). Rows expire after ``IDEMPOTENCY_TTL`` and are deleted
as new keys are stored."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Header

from dagr.core import bodies
from dagr.core.errors import DomainError, ValidationError

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples


# The operations' declaration of the header (for the OpenAPI document and its limits; ninja
# refuses a key outside them with 422 ``invalid_request``).
IDEMPOTENCY_HEADER: Any = Header(
    None,
    alias=HEADER,
    min_length=1,
    max_length=255,
    pattern=_KEY.pattern,
    description=(
        "Optional. A repeat of this request with the same key within 24 hours returns the first "
        "answer and loads nothing; the same key with another request is 422 "
        "`idempotency_key_reused`."
    ),
)


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = _("This Idempotency-Key was already used for a different request")


def _request_hasher(request: HttpRequest) -> Any:
    return hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())


def idempotent(
    request: HttpRequest,
    *,
    connection_id: int,
    body_limit: int,
    run: Callable[[], dict[str, Any]],
) -> Any:
    """``run()`` (the load) unless the request repeats a stored one; the answer either way."""
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    if not _KEY.match(key):
        raise ValidationError(
            _("The Idempotency-Key header has 1 to 255 visible ASCII characters."),
            code="invalid_idempotency_key",
        )
    hasher = _request_hasher(request)
    request.body_hasher = hasher  # type: ignore[attr-defined]  # read by dagr.core.bodies
    now = timezone.now()
    stored = IdempotencyKey.objects.filter(
        connection_id=connection_id, key=key, expires_at__gt=now
    ).first()
    if stored is not None:
        for _block in bodies.body_blocks(request, limit=body_limit):
            pass  # hashed on the way
        if hasher.hexdigest() != stored.request_hash:
            raise IdempotencyKeyReused(
                _("Send a new Idempotency-Key for a request that differs from the first one.")
            )
        response = HttpResponse(
            bytes(stored.body), status=stored.status, content_type="application/json"
        )
        response["Idempotent-Replayed"] = "true"
        return response
    body = orjson.dumps(run())
    _store(connection_id=connection_id, key=key, request_hash=hasher.hexdigest(), body=body)
    return HttpResponse(body, status=200, content_type="application/json")


def _store(*, connection_id: int, key: str, request_hash: str, body: bytes) -> None:
    now = timezone.now()
    with transaction.atomic():
        IdempotencyKey.objects.filter(expires_at__lte=now).delete()  # cleaned up by age
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    connection_id=connection_id,
                    key=key,
                    request_hash=request_hash,
                    status=200,
                    body=body,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
        except IntegrityError:  # a concurrent first request with the same key stored first
            pass
