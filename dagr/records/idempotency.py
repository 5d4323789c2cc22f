"""``Idempotency-Key`` on the provider loads (POST records, the deletes): a repeat of a request
with the same key from the same connection within 24 hours gets the first answer (status and
body, with ``Idempotent-Replayed: true``) and loads nothing again; the same key with a different
request (method, path, query or body) is refused with 422 ``idempotency_key_reused``.

The request is identified by a SHA-256 of its method, path and query string and its body, hashed
as the load streams it (``dagr.core.bodies``: ``request.body_hasher``), so an NDJSON body is still
never held whole. Only successful answers are kept: a refused load writes nothing, and the client
may send it again with the same key.

Concurrency: the key is reserved (a row with ``status`` 0, committed) before the load runs, so a
second request with the same key while the first is still loading gets 409
``idempotency_key_in_use`` with ``Retry-After`` instead of loading twice. The reservation holds for
``IN_PROGRESS_LEASE``: a process that died mid-load blocks its key no longer than that. A load that
fails removes its reservation. Rows expire after ``IDEMPOTENCY_TTL`` and are deleted as new keys
are stored."""

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
IN_PROGRESS = 0  # ``status`` of a reservation whose load is still running
IN_PROGRESS_LEASE = timedelta(hours=1)  # longer than any load; then a dead holder's key is free
RETRY_AFTER_S = 5
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


class IdempotencyKeyInUse(DomainError):
    code = "idempotency_key_in_use"
    status = 409
    title = _("A request with this Idempotency-Key is still being processed")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_S)}


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
    stored = _reserve(connection_id=connection_id, key=key)
    if stored is not None:
        if stored.status == IN_PROGRESS:
            raise IdempotencyKeyInUse(
                _(
                    "The first request with this Idempotency-Key is still loading; ask again "
                    "in a few seconds to get its answer."
                )
            )
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
    try:
        body = orjson.dumps(run())
    except BaseException:
        # nothing was loaded: the key is free for a retry of the same request
        IdempotencyKey.objects.filter(
            connection_id=connection_id, key=key, status=IN_PROGRESS
        ).delete()
        raise
    IdempotencyKey.objects.filter(connection_id=connection_id, key=key).update(
        request_hash=hasher.hexdigest(),
        status=200,
        body=body,
        expires_at=timezone.now() + IDEMPOTENCY_TTL,
    )
    return HttpResponse(body, status=200, content_type="application/json")


def _reserve(*, connection_id: int, key: str) -> IdempotencyKey | None:
    """Reserve ``key`` for this request (``None``: reserved, go on) or return the row that holds
    it: a stored answer, or another request still loading. Committed at once (its own
    transaction), so concurrent requests see it; expired rows are deleted here."""
    now = timezone.now()
    for _attempt in range(2):
        with transaction.atomic():
            IdempotencyKey.objects.filter(expires_at__lte=now).delete()  # cleaned up by age
            try:
                with transaction.atomic():
                    IdempotencyKey.objects.create(
                        connection_id=connection_id,
                        key=key,
                        request_hash="",
                        status=IN_PROGRESS,
                        body=b"",
                        expires_at=now + IN_PROGRESS_LEASE,
                    )
                return None
            except IntegrityError:  # held by an earlier (or concurrent) request
                pass
        held = IdempotencyKey.objects.filter(
            connection_id=connection_id, key=key, expires_at__gt=now
        ).first()
        if held is not None:
            return held
        # it expired between the insert and the read: try once more
    raise IdempotencyKeyInUse()
