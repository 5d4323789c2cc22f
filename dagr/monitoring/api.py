"""Record sets for recipient systems (``auth=recipient_auth``: a provider connection gets 403;
a record set of another institution 404 ``record_set_not_found``). Mounted in ``config/api.py``
under ``/record-sets``; see ``docs/change-feed.md``. Handlers parse input and call one service
or selector; the feed and the identifier pages are written with orjson."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from dagr.connections.auth import principal_of, recipient_auth
from dagr.core.headers import link_next
from dagr.core.pagination import ObjectId
from dagr.core.purpose import PURPOSE_HEADER, purpose_from_header
from dagr.records.services import ConnectionActor
from dagr.retrieval.schemas import ChangesOut
from dagr.retrieval.services import DEFAULT_CHANGES, MAX_CHANGES, Caller

from . import selectors, services
from .models import RecordSet

router = Router(tags=["monitoring"], auth=recipient_auth)


class RecordSetOut(Schema):
    id: int
    name: str
    dataset: str = Field(description="the dataset code")
    permission_number: str = Field(description="the access grant the record set is defined over")
    identifier_field: str = Field(description="the watched identifier field; empty: no list")
    conditions: list[dict[str, Any]] = Field(description="in the grant condition language")
    identifier_count: int = Field(description="how many values are watched")
    created_at: datetime
    updated_at: datetime


class RecordSetsOut(Schema):
    record_sets: list[RecordSetOut]


class RecordSetIn(Schema):
    dataset: str = Field(min_length=1, max_length=64, description="the dataset code")
    permission_number: str = Field(
        min_length=1, max_length=100, description="your institution's approved grant for it"
    )
    name: str = Field(
        min_length=1, max_length=200, pattern=r"\S", description="1–200 characters, not only spaces"
    )
    identifier_field: str = Field(
        "",
        description="an identifier field path the grant shows, e.g. registration_number or "
        "board_members.personal_code; empty when the set is defined by conditions only",
    )
    conditions: list[dict[str, Any]] = Field(
        default_factory=list, description="on granted top-level fields; same language as grants"
    )


class RecordSetPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S")
    conditions: list[dict[str, Any]] | None = Field(
        None, description="replaces the conditions (earlier feed cursors become outdated)"
    )


class IdentifiersOut(Schema):
    identifiers: list[str]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class IdentifiersIn(Schema):
    add: list[Any] = Field(default_factory=list, description="values to watch")
    remove: list[Any] = Field(default_factory=list, description="values to stop watching")


class IdentifiersChangedOut(Schema):
    added: int
    removed: int
    identifier_count: int


def _actor(request: HttpRequest) -> ConnectionActor:
    return ConnectionActor.from_principal(principal_of(request))


def _json(body: Any) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), content_type="application/json")


def _out(record_set: RecordSet) -> dict[str, Any]:
    return {
        "id": record_set.pk,
        "name": record_set.name,
        "dataset": record_set.dataset.code,
        "permission_number": record_set.grant.permission_number,
        "identifier_field": record_set.identifier_field,
        "conditions": record_set.conditions,
        "identifier_count": record_set.identifier_count,
        "created_at": record_set.created_at,
        "updated_at": record_set.updated_at,
    }


def _get(request: HttpRequest, record_set_id: int) -> RecordSet:
    return selectors.record_set_get(actor=_actor(request), pk=record_set_id)


@router.get("", response=RecordSetsOut, summary="My record sets")
def record_set_list(
    request: HttpRequest,
    dataset: str = Query("", description="only the record sets of this dataset"),
) -> Any:
    """The record sets of your institution."""
    items = selectors.record_sets_of(actor=_actor(request), dataset_code=dataset)
    return {"record_sets": [_out(r) for r in items]}


@router.post("", response={201: RecordSetOut}, summary="Create a record set")
def record_set_create(request: HttpRequest, body: RecordSetIn) -> Any:
    """A watch list over one of your grants: add values with `POST /{id}/identifiers`, then
    follow `GET /{id}/changes`."""
    actor = _actor(request)
    record_set = services.record_set_create(
        actor=actor,
        institution_id=actor.institution_id,
        dataset_code=body.dataset,
        permission_number=body.permission_number,
        name=body.name,
        identifier_field=body.identifier_field,
        conditions=body.conditions,
    )
    return Status(201, _out(record_set))


@router.get("/{record_set_id}", response=RecordSetOut, summary="A record set")
def record_set_get(request: HttpRequest, record_set_id: ObjectId) -> Any:
    return _out(_get(request, record_set_id))


@router.patch("/{record_set_id}", response=RecordSetOut, summary="Rename or change conditions")
def record_set_update(request: HttpRequest, record_set_id: ObjectId, body: RecordSetPatch) -> Any:
    """Only the fields you send change. New conditions make earlier feed cursors outdated
    (`409 cursor_outdated`): start the feed again without a cursor."""
    record_set = _get(request, record_set_id)
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    if "name" in given:
        changes["name"] = body.name
    if "conditions" in given:
        changes["conditions"] = body.conditions
    services.record_set_update(actor=_actor(request), record_set=record_set, **changes)
    return _out(record_set)


@router.delete("/{record_set_id}", response={204: None}, summary="Delete a record set")
def record_set_delete(request: HttpRequest, record_set_id: ObjectId) -> Any:
    """Deletes the watched values and the record set's webhook too."""
    services.record_set_delete(actor=_actor(request), record_set=_get(request, record_set_id))
    return Status(204, None)


@router.get(
    "/{record_set_id}/identifiers", response=IdentifiersOut, summary="Watched values, paged"
)
def identifiers_list(
    request: HttpRequest,
    record_set_id: ObjectId,
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(selectors.DEFAULT_IDENTIFIER_PAGE, ge=1, le=selectors.MAX_IDENTIFIER_PAGE),
) -> Any:
    """The watched values in code point order."""
    page = selectors.identifiers_page(
        record_set=_get(request, record_set_id), cursor=cursor, limit=limit
    )
    body = {"identifiers": page.values, "next_cursor": page.next_cursor}
    return link_next(request, _json(body), page.next_cursor)


@router.post(
    "/{record_set_id}/identifiers",
    response=IdentifiersChangedOut,
    summary="Add and remove watched values",
)
def identifiers_change(request: HttpRequest, record_set_id: ObjectId, body: IdentifiersIn) -> Any:
    """At most 10,000 values per call (`add` and `remove` together; removals are applied
    first). Values already watched (or not watched) are ignored. If any value is not valid
    nothing changes: `422 invalid_identifiers` lists each problem (`add.<n>` / `remove.<n>`).
    Adding a value does not replay its record's current state: look it up with the data API."""
    result = services.record_set_identifiers_change(
        actor=_actor(request),
        record_set=_get(request, record_set_id),
        add=body.add,
        remove=body.remove,
    )
    return {"added": result.added, "removed": result.removed, "identifier_count": result.count}


@router.get("/{record_set_id}/changes", response=ChangesOut, summary="The record set's changes")
def record_set_changes(
    request: HttpRequest,
    record_set_id: ObjectId,
    cursor: str | None = Query(
        None, description="`next_cursor` of your previous call; none: from the start"
    ),
    limit: int = Query(DEFAULT_CHANGES, ge=1, le=MAX_CHANGES),
    purpose: str | None = PURPOSE_HEADER,
) -> Any:
    """The grant's change feed narrowed to the record set's members: a record that enters
    the set appears as `created`, one that leaves it as `deleted`. One call examines a bounded
    part of the change log, so an empty `changes` list with `has_more: true` is normal for a
    narrow set: keep following `next_cursor`."""
    principal = principal_of(request)
    page = services.record_set_changes(
        caller=Caller(
            institution_id=principal.institution_id,
            connection_id=principal.connection_id,
            label=principal.client_id,
        ),
        record_set_id=record_set_id,
        cursor=cursor,
        limit=limit,
        purpose=purpose_from_header(purpose),
    )
    body = {"changes": page.changes, "next_cursor": page.next_cursor, "has_more": page.has_more}
    return link_next(request, _json(body), page.next_cursor)
