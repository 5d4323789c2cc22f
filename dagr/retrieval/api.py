"""The record retrieval API for recipient systems (``auth=recipient_auth``; a provider
connection gets 403). Data calls send the grant's permission number in ``X-Permission-Number``
and may state a purpose in ``X-Purpose`` (recorded in the audit). Handlers parse input, call one
service and write the answer with orjson (the response schemas document it)."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Header, Query, Router

from dagr.connections.auth import principal_of, recipient_auth
from dagr.core.headers import gzip_stream, link_next
from dagr.core.purpose import PURPOSE_HEADER, purpose_from_header

from . import schemas, selectors, services

router = Router(tags=["data"], auth=recipient_auth)

PERMISSION_HEADER = Header(
    None,
    alias="X-Permission-Number",
    description="The external permission number of your access grant (required).",
)
RESERVED_QUERY = {"cursor", "limit"}


def _caller(request: HttpRequest) -> services.Caller:
    principal = principal_of(request)
    return services.Caller(
        institution_id=principal.institution_id,
        connection_id=principal.connection_id,
        label=principal.client_id,
    )


def _json(body: Any) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), content_type="application/json")


@router.get("/grants", response=schemas.PermissionsOut, summary="My access permissions")
def permissions(request: HttpRequest) -> Any:
    """Each permission of the calling institution: dataset, permission number, purpose, use
    count and quota, validity and the accessible fields."""
    items = selectors.permissions_list(institution_id=principal_of(request).institution_id)
    return {"permissions": items}


@router.get(
    "/{code}/records/{field}/{value}",
    response=schemas.RecordsOut,
    summary="Get records by an identifier",
)
def record_get(
    request: HttpRequest,
    code: str,
    field: str,
    value: str,
    permission_number: str | None = PERMISSION_HEADER,
    purpose: str | None = PURPOSE_HEADER,
) -> Any:
    """Records with ``value`` in identifier field ``field`` (any declared identifier, nested
    ones like ``board_members.personal_code`` too); a personal code or company number may be
    written with hyphens or spaces. 404 `record_not_found` when none is visible to you; 422
    `invalid_identifier` when the value cannot be one of the field's kind (a wrong check digit)."""
    result = services.record_get(
        caller=_caller(request),
        dataset_code=code,
        permission_number=permission_number or "",
        purpose=purpose_from_header(purpose),
        field=field,
        value=value,
    )
    return _json({"records": result.records})


@router.post("/{code}/lookup", response=schemas.LookupOut, summary="Look up many identifiers")
def records_lookup(
    request: HttpRequest,
    code: str,
    body: schemas.LookupIn,
    permission_number: str | None = PERMISSION_HEADER,
    purpose: str | None = PURPOSE_HEADER,
) -> Any:
    """Up to 1,000 values of one identifier field in one call. Values without a record you may
    see are listed in `not_found`, malformed ones (a wrong check digit) in `invalid`."""
    result = services.records_lookup(
        caller=_caller(request),
        dataset_code=code,
        permission_number=permission_number or "",
        purpose=purpose_from_header(purpose),
        field=body.field,
        values=body.values,
    )
    return _json(
        {"records": result.records, "not_found": result.not_found, "invalid": result.invalid}
    )


@router.get("/{code}/records", response=schemas.PageOut, summary="Search records")
def records_search(
    request: HttpRequest,
    code: str,
    cursor: str | None = Query(None, description="from `next_cursor` of the previous page"),
    limit: int = Query(services.DEFAULT_PAGE, ge=1, le=services.MAX_PAGE),
    permission_number: str | None = PERMISSION_HEADER,
    purpose: str | None = PURPOSE_HEADER,
) -> Any:
    """Records the grant allows, in a stable order, one page at a time. Any other query
    parameter ``<field>=<value>`` is an equality filter on a top-level granted field."""
    filters = {k: v for k, v in request.GET.dict().items() if k not in RESERVED_QUERY}
    result = services.records_search(
        caller=_caller(request),
        dataset_code=code,
        permission_number=permission_number or "",
        purpose=purpose_from_header(purpose),
        filters=filters,
        cursor=cursor,
        limit=limit,
    )
    body = {"records": result.records, "next_cursor": result.next_cursor}
    return link_next(request, _json(body), result.next_cursor)


@router.get("/{code}/changes", response=schemas.ChangesOut, summary="Changes since a cursor")
def records_changes(
    request: HttpRequest,
    code: str,
    cursor: str | None = Query(
        None, description="`next_cursor` of your previous call; none: from the start"
    ),
    limit: int = Query(services.DEFAULT_CHANGES, ge=1, le=services.MAX_CHANGES),
    permission_number: str | None = PERMISSION_HEADER,
    purpose: str | None = PURPOSE_HEADER,
) -> Any:
    """The dataset's changes as your grant sees them, in order: `created` (new, or entered your
    grant's conditions), `updated`, `deleted` (deleted, or left the conditions). Without a cursor
    the feed starts at the beginning — reading it to the end is an initial full load; then keep
    the last `next_cursor` and ask again for what changed since. `409 cursor_outdated`: your
    grant's terms changed, start again without a cursor."""
    page = services.records_changes(
        caller=_caller(request),
        dataset_code=code,
        permission_number=permission_number or "",
        purpose=purpose_from_header(purpose),
        cursor=cursor,
        limit=limit,
    )
    body = {"changes": page.changes, "next_cursor": page.next_cursor, "has_more": page.has_more}
    return link_next(request, _json(body), page.next_cursor)


EXPORT_RESPONSE = {
    "description": "Every record the grant allows, streamed",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.get(
    "/{code}/export",
    summary="Export all records the grant allows",
    openapi_extra={"responses": {"200": EXPORT_RESPONSE}},
)
def records_export(
    request: HttpRequest,
    code: str,
    format: str = Query("csv", pattern="^(csv|ndjson)$"),
    permission_number: str | None = PERMISSION_HEADER,
    purpose: str | None = PURPOSE_HEADER,
) -> Any:
    """CSV (UTF-8 with BOM, formula-safe) or NDJSON, one record per line."""
    export = services.records_export(
        caller=_caller(request),
        dataset_code=code,
        permission_number=permission_number or "",
        purpose=purpose_from_header(purpose),
        format=format,
    )
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return gzip_stream(request, response)
