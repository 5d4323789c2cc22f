"""The provider API: provider systems load their institution's datasets.

A provider system authenticates as a technical connection of kind ``provider`` (OAuth 2.0 client
credentials, ``/api/v1/oauth/token``) and may write only its own institution's datasets; another
institution's dataset answers 404 exactly like a missing one. Every load is one transaction
(``dagr.records.loading``): one invalid record and nothing is written.

Request bodies are read here, not by ninja: NDJSON is streamed line by line into the loading
service (never held whole, up to ``DAGR_PROVIDER_MAX_NDJSON_BYTES``); a JSON array is parsed whole
and therefore bounded by ``DAGR_PROVIDER_MAX_JSON_BYTES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from dagr.catalog.models import Dataset
from dagr.connections.auth import principal_of, provider_auth
from dagr.core import bodies
from dagr.core.errors import DomainError, ValidationError
from dagr.core.pagination import BoundedLimitOffsetPagination

from . import selectors, services
from .idempotency import IDEMPOTENCY_HEADER, idempotent
from .models import Load

router = Router(tags=["provider"], auth=provider_auth)

MAX_NDJSON_BYTES = 512 * 1024 * 1024
MAX_JSON_BYTES = 32 * 1024 * 1024
TOO_LARGE_HINT = gettext_lazy(
    "Send NDJSON (it is streamed) or split the data into several requests."
)
JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


PayloadTooLarge = bodies.PayloadTooLarge


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    title = gettext_lazy("The content type of the request body is not supported")


# --- schemas -------------------------------------------------------------------------------------


class LoadOut(Schema):
    id: int
    dataset: str
    mode: str
    source: str
    status: str
    received: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    invalid: int
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None


class ProviderDatasetOut(Schema):
    code: str
    title_lv: str
    title_en: str
    status: str
    schema_version: int | None
    key: str | None
    records: int
    last_load: LoadOut | None


def _load_out(load: Load, code: str) -> dict[str, Any]:
    duration = (
        round((load.finished_at - load.started_at).total_seconds() * 1000)
        if load.finished_at
        else None
    )
    return {
        "id": load.pk,
        "dataset": code,
        "mode": load.mode,
        "source": load.source,
        "status": load.status,
        "received": load.received,
        "created": load.created,
        "updated": load.updated,
        "unchanged": load.unchanged,
        "deleted": load.deleted,
        "invalid": load.invalid,
        "started_at": load.started_at,
        "finished_at": load.finished_at,
        "duration_ms": duration,
    }


# --- request bodies ------------------------------------------------------------------------------


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _media_type(request: HttpRequest) -> str:
    return (request.content_type or "").split(";")[0].strip().lower()


def _json_body(request: HttpRequest, limit: int) -> Any:
    body = bodies.body_bytes(request, limit=limit, hint=str(TOO_LARGE_HINT))
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(
            _("The request body is not valid JSON: %(error)s") % {"error": exc},
            code="invalid_json",
        ) from None


def _ndjson_records(request: HttpRequest, limit: int) -> Iterator[Any]:
    """One record per non-blank line, streamed in blocks (``dagr.core.bodies``: never the WSGI
    input's ``readline``); a line that is not JSON becomes an ``UnreadableRecord`` so that it is
    reported with every other invalid record. A body that grows over ``limit`` or ends before
    its ``Content-Length`` aborts the load (nothing is written)."""
    blocks = bodies.body_blocks(request, limit=limit, hint=str(TOO_LARGE_HINT))
    for line in bodies.split_lines(blocks):
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            yield services.UnreadableRecord("invalid_json", _("this line is not valid JSON"))


def _records_from_body(request: HttpRequest) -> Any:
    media_type = _media_type(request)
    if media_type in NDJSON_TYPES:
        limit = _limit("DAGR_PROVIDER_MAX_NDJSON_BYTES", MAX_NDJSON_BYTES)
        if (bodies.declared_length(request) or 0) > limit:
            raise bodies.too_large(limit, str(TOO_LARGE_HINT))
        return _ndjson_records(request, limit)
    if media_type in JSON_TYPES:
        records = _json_body(request, _limit("DAGR_PROVIDER_MAX_JSON_BYTES", MAX_JSON_BYTES))
        if not isinstance(records, list):
            raise ValidationError(
                _("The request body must be a JSON array of records."), code="invalid_body"
            )
        return records
    raise UnsupportedMediaType(
        _("Send the records as application/json (an array) or application/x-ndjson.")
    )


def _idempotent(request: HttpRequest, run: Any) -> Any:
    """Every load honours ``Idempotency-Key`` (``dagr.records.idempotency``)."""
    return idempotent(
        request,
        connection_id=principal_of(request).connection_id,
        body_limit=max(
            _limit("DAGR_PROVIDER_MAX_NDJSON_BYTES", MAX_NDJSON_BYTES),
            _limit("DAGR_PROVIDER_MAX_JSON_BYTES", MAX_JSON_BYTES),
        ),
        run=run,
    )


def _writable_dataset(request: HttpRequest, code: str) -> tuple[Dataset, Any]:
    principal = principal_of(request)
    dataset = selectors.provider_dataset_get(institution_id=principal.institution_id, code=code)
    return dataset, services.ConnectionActor.from_principal(principal)


# --- OpenAPI documentation of the hand-read bodies -----------------------------------------------

_RECORD = {"type": "object", "additionalProperties": True}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_TOO_LARGE = {
    "413": {"description": "The request body is over the size limit", "content": _PROBLEM}
}
UPSERT_OPENAPI = {
    "requestBody": {
        "required": True,
        "description": (
            "The records, each a JSON object with the dataset's schema fields. Either a JSON "
            "array (`application/json`, at most `DAGR_PROVIDER_MAX_JSON_BYTES`, 32 MB by "
            "default) or one object per line (`application/x-ndjson`, streamed, at most "
            "`DAGR_PROVIDER_MAX_NDJSON_BYTES`, 512 MB by default; blank lines are skipped)."
        ),
        "content": {
            "application/json": {"schema": {"type": "array", "items": _RECORD}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    "responses": {
        **_TOO_LARGE,
        "400": {
            "description": "The body ended before its Content-Length (`incomplete_body`)",
            "content": _PROBLEM,
        },
        "409": {
            "description": (
                "The dataset is retired (`dataset_retired`), or a snapshot's deletions need "
                "confirmation (`snapshot_deletions_unconfirmed`, with `would_delete` and `live`)"
            ),
            "content": _PROBLEM,
        },
        "415": {"description": "Neither JSON nor NDJSON", "content": _PROBLEM},
    },
}
DELETE_OPENAPI = {
    "requestBody": {
        "required": True,
        "description": "A JSON array of the keys (strings) of the records to delete.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
                }
            }
        },
    },
    "responses": {**_TOO_LARGE},
}


# --- operations ----------------------------------------------------------------------------------


@router.get(
    "/datasets",
    response=list[ProviderDatasetOut],
    summary="The caller's datasets with record counts and last load",
    description=(
        "Every dataset of the calling connection's institution (sandbox, production and "
        "retired), ordered by code, with the number of live (not deleted) records and the "
        "most recent load, whether it succeeded or failed."
    ),
)
def dataset_list(request: HttpRequest) -> list[dict[str, Any]]:
    found = selectors.provider_dataset_list(institution_id=principal_of(request).institution_id)
    return [
        {
            "code": item.dataset.code,
            "title_lv": item.dataset.title_lv,
            "title_en": item.dataset.title_en,
            "status": item.dataset.status,
            "schema_version": item.dataset.schema.number if item.dataset.schema else None,
            "key": item.dataset.schema.definition.get("key") if item.dataset.schema else None,
            "records": item.records,
            "last_load": _load_out(item.last_load, item.dataset.code) if item.last_load else None,
        }
        for item in found
    ]


@router.post(
    "/datasets/{code}/records",
    response=LoadOut,
    summary="Load records: batch upsert, or a full snapshot with mode=snapshot",
    description=(
        "Inserts new records, updates changed ones (the previous version goes to the history) "
        "and skips unchanged ones; each created, updated or deleted record gets one change-log "
        "entry. **Atomic**: if any record is invalid nothing is written and the answer is 422 "
        "with `errors` listing every invalid record: `position` (1-based, in the order sent), "
        "`key`, `field`, `code` and `message`; the failed load is still recorded in the load "
        "history. **Idempotent**: sending the same data again creates no versions and no "
        "change entries (the records count as `unchanged`). The same key twice in one request "
        "is applied in order.\n\n"
        "`mode=snapshot`: the body is the complete dataset — afterwards every live record whose "
        "key was not sent is deleted (soft delete, with a change entry). **Snapshot safety**: a "
        "snapshot with no records, or one that would delete more than "
        "`DAGR_SNAPSHOT_MAX_DELETE_SHARE` (50 % by default) of the live records, is refused "
        "with 409 `snapshot_deletions_unconfirmed` naming `would_delete` and `live`, and "
        "nothing is written, unless `confirm_deletions` equals exactly the number it would "
        "delete; a `confirm_deletions` that differs is refused the same way.\n\n"
        "NDJSON is streamed, with `Content-Length` or chunked (`Transfer-Encoding: chunked`); "
        "`received` is the number of non-blank lines. A body that ends before its "
        "`Content-Length` is refused with 400 `incomplete_body`, and nothing is written.\n\n"
        "Loads of one dataset are serialised; a retired dataset answers 409 "
        "`dataset_retired`."
    ),
    openapi_extra=UPSERT_OPENAPI,
)
def records_load(
    request: HttpRequest,
    code: str,
    mode: Literal["upsert", "snapshot"] = "upsert",
    confirm_deletions: Annotated[
        int | None,
        Query(
            ge=0,
            description=(
                "Snapshots only: the exact number of live records the snapshot deletes. Needed "
                "when the snapshot holds no records or deletes more than "
                "`DAGR_SNAPSHOT_MAX_DELETE_SHARE` (50 % by default) of the live records; the "
                "refusal (409 `snapshot_deletions_unconfirmed`) names the number. A number "
                "that differs is refused, and nothing is written."
            ),
        ),
    ] = None,
    idempotency_key: str | None = IDEMPOTENCY_HEADER,
) -> Any:
    dataset, actor = _writable_dataset(request, code)

    def load() -> dict[str, Any]:
        done = services.records_upsert(
            actor=actor,
            dataset=dataset,
            records=_records_from_body(request),
            source=Load.Source.API,
            mode=mode,
            confirm_deletions=confirm_deletions,
        )
        return _load_out(done, dataset.code)

    return _idempotent(request, load)


@router.post(
    "/datasets/{code}/records:delete",
    response=LoadOut,
    summary="Delete records by key (a batch)",
    description=(
        "Soft-deletes the records with the given keys: each live one gets a new version marked "
        "deleted and a `deleted` change entry; its identifiers leave the lookup index. Keys "
        "that do not exist or are already deleted count as `unchanged`. One transaction."
    ),
    openapi_extra=DELETE_OPENAPI,
)
def records_delete_batch(
    request: HttpRequest, code: str, idempotency_key: str | None = IDEMPOTENCY_HEADER
) -> Any:
    dataset, actor = _writable_dataset(request, code)
    if _media_type(request) not in JSON_TYPES:
        raise UnsupportedMediaType(_("Send the keys as a JSON array (application/json)."))

    def delete() -> dict[str, Any]:
        keys = _json_body(request, _limit("DAGR_PROVIDER_MAX_JSON_BYTES", MAX_JSON_BYTES))
        if not isinstance(keys, list) or not all(isinstance(k, str | int) for k in keys):
            raise ValidationError(
                _("The request body must be a JSON array of keys (strings)."), code="invalid_body"
            )
        done = services.records_delete(actor=actor, dataset=dataset, keys=keys)
        return _load_out(done, dataset.code)

    return _idempotent(request, delete)


@router.delete(
    "/datasets/{code}/records/{key}",
    response=LoadOut,
    summary="Delete one record by key",
    description=(
        "Soft-deletes the record (see the batch delete). Deleting a key that does not exist or "
        "is already deleted succeeds with `unchanged: 1`: the operation is idempotent. A key "
        "that contains `/` is deleted with the batch operation."
    ),
)
def record_delete(
    request: HttpRequest, code: str, key: str, idempotency_key: str | None = IDEMPOTENCY_HEADER
) -> Any:
    dataset, actor = _writable_dataset(request, code)

    def delete() -> dict[str, Any]:
        done = services.records_delete(actor=actor, dataset=dataset, keys=[key])
        return _load_out(done, dataset.code)

    return _idempotent(request, delete)


@router.get(
    "/datasets/{code}/loads",
    response=list[LoadOut],
    summary="Load history of a dataset (paged)",
    description=(
        "Every load of the dataset, newest first: API loads, file uploads, connector runs, "
        "deletes; failed loads too. `limit` and `offset` page through it."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def load_list(request: HttpRequest, code: str) -> Any:
    principal = principal_of(request)
    dataset = selectors.provider_dataset_get(institution_id=principal.institution_id, code=code)
    return _LoadPage(selectors.load_list_for_dataset(dataset=dataset), dataset.code)


class _LoadPage:
    """A lazily sliced load queryset shaped as ``LoadOut`` dicts (the paginator slices it)."""

    def __init__(self, queryset: Any, code: str) -> None:
        self.queryset, self.code = queryset, code

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [_load_out(load, self.code) for load in self.queryset[item]]
