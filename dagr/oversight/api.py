"""The data-access audit API.

- ``POST /audit/access`` (preferred) or ``GET``: a data provider's system (a provider technical
  connection) reads who used the datasets of its institution — filters, keyset pages, or the
  whole selection as CSV.
- ``POST /audit/who-read`` (preferred) or ``GET``: a portal administrator (session) or an
  oversight system (a technical connection of kind ``oversight``, which only administrators
  register) answers "who read this person's data" for one identifier value.

The POST variants take the same parameters as a JSON body, so a personal code never appears in
a URL (and so in no access log or proxy); the GET variants stay for existing clients.

Neither returns an identifier value or its hash: the audit stores only a keyed hash, and the
caller's own value is used to look it up.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.security import django_auth
from pydantic import field_validator, model_validator

from dagr.audit import access_selectors as selectors
from dagr.audit.services import who_read_search
from dagr.connections.auth import any_connection_auth, principal_of, provider_auth
from dagr.connections.tokens import Principal
from dagr.core.errors import PermissionDenied
from dagr.core.headers import link_next
from dagr.permissions import rules
from dagr.records.services import ConnectionActor

from . import presenters

if TYPE_CHECKING:
    from dagr.accounts.models import User

router = Router(tags=["audit"])

Outcome = Literal["ok", "not_found", "denied", "invalid", "error"]
OPERATION_PATTERN = r"^[a-z][a-z0-9_.-]{0,29}$"


class InstitutionRef(Schema):
    id: int
    name: str
    registration_number: str


class AccessEntryOut(Schema):
    at: datetime
    request_id: str
    institution: InstitutionRef | None = Field(description="The institution that made the call")
    connection_client_id: str | None = Field(description="The calling technical connection")
    user_label: str | None = Field(description="The portal user, for accesses in the portal")
    dataset: str
    permission_number: str
    operation: str
    purpose: str
    identifiers_asked: int
    records_returned: int
    fields: list[str]
    outcome: Outcome
    status: int
    duration_ms: float


class AccessPageOut(Schema):
    items: list[AccessEntryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


# The audit's period lies in the years 1970 to 8999 (``audit.access_selectors``: 422
# ``invalid_period``).
YEARS = r"^(19[7-9][0-9]|[2-8][0-9]{3})-"


class PeriodQuery(Schema):
    since: datetime | None = Field(
        None, description="From this time (inclusive)", json_schema_extra={"pattern": YEARS}
    )
    until: datetime | None = Field(
        None, description="Before this time (exclusive)", json_schema_extra={"pattern": YEARS}
    )

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date_time_text(cls, value: Any) -> Any:
        """A date-time as the document says (ISO 8601 text), not a number of seconds that
        pydantic would otherwise read as a Unix time."""
        if value is None or isinstance(value, datetime):
            return value
        try:
            float(value)
        except (TypeError, ValueError):
            if isinstance(value, str):
                return value
        raise ValueError("an ISO 8601 date-time")

    cursor: str | None = Field(None, max_length=200, description="`next_cursor` of a page")
    limit: int = Field(100, ge=1, le=selectors.MAX_LIMIT)


class AccessQuery(PeriodQuery):
    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # ninja's Schema reads fields from any object (attributes), so a JSON body that is an
        # array or a string would pass as "no filters"; only an object is a query.
        data_object = getattr(data, "_obj", data)  # ninja wraps it in a DjangoGetter
        if isinstance(data_object, list | str | int | float | bool) or data_object is None:
            raise ValueError("must be a JSON object")
        return data

    dataset: str | None = Field(None, max_length=64, description="Dataset code; all if omitted")
    recipient: str | None = Field(
        None,
        max_length=20,
        # checked by presenters.recipient_institution_id (422 invalid_recipient), declared here
        json_schema_extra={"pattern": r"^\s*([0-9]{1,11})?\s*$"},  # empty: all
        description="Recipient's registration number or institution id",
    )
    identifier: str | None = Field(
        None, max_length=selectors.MAX_IDENTIFIER_LENGTH, description="An identifier value"
    )
    operation: str | None = Field(None, pattern=OPERATION_PATTERN)
    outcome: Outcome | None = None
    format: Literal["json", "csv"] = Field("json", description="`csv` streams every match")


class WhoReadQuery(PeriodQuery):
    identifier: str = Field(
        min_length=1,
        max_length=selectors.MAX_IDENTIFIER_LENGTH,
        description="Personal code (with or without the hyphen) or any other identifier",
    )


class WhoReadRowOut(Schema):
    institution: InstitutionRef | None
    dataset: str
    operation: str
    accesses: int
    served: int
    records_returned: int
    first_at: datetime
    last_at: datetime


class WhoReadOut(Schema):
    summary: list[WhoReadRowOut]
    items: list[AccessEntryOut]
    next_cursor: str | None


CSV_RESPONSE: dict[str, Any] = {
    "responses": {
        200: {
            "description": "A page of entries (JSON) or, with `format=csv`, every entry as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


def _page(filters: dict[str, Any], cursor: str | None, limit: int) -> selectors.AccessPage:
    return selectors.access_entries(cursor=cursor or "", limit=limit, **filters)


ACCESS_DESCRIPTION = (
    "The access audit of the calling provider's datasets, newest first. `dataset` narrows "
    "to one dataset (another provider's dataset is 404); `recipient` is a registration "
    "number or institution id; `identifier` finds the accesses to one record (the value is "
    "not stored: the audit keeps a keyed hash). Pages follow `next_cursor`; `format=csv` "
    "streams every matching entry from `cursor` on, ignoring `limit`."
)


@router.post(
    "/access",
    response=AccessPageOut,
    auth=provider_auth,
    summary="Who used my datasets (data provider systems) — preferred",
    description=ACCESS_DESCRIPTION
    + " The filters go in a JSON body, so an `identifier` never appears in a URL.",
    openapi_extra=CSV_RESPONSE,
)
def access_search(request: HttpRequest, response: HttpResponse, query: AccessQuery) -> Any:
    return _access(request, response, query)


@router.get(
    "/access",
    response=AccessPageOut,
    auth=provider_auth,
    summary="Who used my datasets (data provider systems)",
    description=ACCESS_DESCRIPTION
    + " Prefer `POST` with the same parameters in a JSON body when filtering by `identifier`:"
    " URLs end up in logs.",
    openapi_extra=CSV_RESPONSE,
)
def access_list(request: HttpRequest, response: HttpResponse, query: Query[AccessQuery]) -> Any:
    return _access(request, response, query)


def _access(request: HttpRequest, response: HttpResponse, query: AccessQuery) -> Any:
    principal = principal_of(request)
    filters: dict[str, Any] = {
        "dataset_ids": presenters.provider_dataset_ids(
            institution_id=principal.institution_id, code=query.dataset
        ),
        "since": query.since,
        "until": query.until,
        "recipient_institution_id": presenters.recipient_institution_id(query.recipient),
        "identifier": query.identifier or "",
        "operation": query.operation or "",
        "outcome": query.outcome or "",
    }
    if query.format == "csv":
        entries = selectors.access_entries_iter(cursor=query.cursor or "", **filters)
        return presenters.csv_response(entries, name=query.dataset or "datasets")
    page = _page(filters, query.cursor, query.limit)
    link_next(request, response, page.next_cursor)
    return {"items": presenters.entry_rows(page.entries), "next_cursor": page.next_cursor}


WHO_READ_DESCRIPTION = (
    "For one identifier value (a personal code with or without the hyphen, or any other "
    "identifier): which institutions asked for or received it — grouped by institution, "
    "dataset and operation with counts and first/last time — and the entries, newest "
    "first. For portal administrators (a session) and oversight systems (the bearer token of "
    "a technical connection of kind `oversight`, registered by an administrator); any other "
    "caller is 403 `admin_only`."
)
# a bearer token first (any connection kind: the rule decides), else the portal session
WHO_READ_AUTH = [any_connection_auth, django_auth]


@router.post(
    "/who-read",
    response=WhoReadOut,
    auth=WHO_READ_AUTH,
    summary="Who read this person's data (administrators) — preferred",
    description=WHO_READ_DESCRIPTION
    + " The parameters go in a JSON body, so the identifier never appears in a URL.",
)
def who_read_search_post(
    request: HttpRequest, response: HttpResponse, query: WhoReadQuery
) -> dict[str, Any]:
    return _who_read(request, response, query)


@router.get(
    "/who-read",
    response=WhoReadOut,
    auth=WHO_READ_AUTH,
    summary="Who read this person's data (administrators)",
    description=WHO_READ_DESCRIPTION
    + " Prefer `POST` with the same parameters in a JSON body: URLs end up in logs.",
)
def who_read(
    request: HttpRequest, response: HttpResponse, query: Query[WhoReadQuery]
) -> dict[str, Any]:
    return _who_read(request, response, query)


def _who_read(request: HttpRequest, response: HttpResponse, query: WhoReadQuery) -> dict[str, Any]:
    auth = request.auth  # type: ignore[attr-defined]  # set by ninja: a Principal or the user
    actor: User | ConnectionActor = (
        ConnectionActor.from_principal(auth) if isinstance(auth, Principal) else auth
    )
    if not rules.can_answer_who_read(actor):
        raise PermissionDenied(code="admin_only")
    period = {"since": query.since, "until": query.until}
    summary = who_read_search(actor=actor, identifier=query.identifier, **period)
    filters = {"dataset_ids": None, "identifier": query.identifier, **period}
    page = _page(filters, query.cursor, query.limit)
    link_next(request, response, page.next_cursor)
    return {
        "summary": presenters.summary_rows(summary),
        "items": presenters.entry_rows(page.entries),
        "next_cursor": page.next_cursor,
    }
