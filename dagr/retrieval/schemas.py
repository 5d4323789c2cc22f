"""API schemas of the retrieval endpoints. Records are free-form objects: exactly the granted
fields of the dataset's schema (nested lists keep only their granted fields)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field, StringConstraints


class PermissionOut(Schema):
    dataset: str
    dataset_title_lv: str
    dataset_title_en: str
    permission_number: str
    status: str = Field(description="approved, expired, not_yet_valid or revoked")
    purpose: str
    legal_basis: str
    valid_from: date | None
    valid_until: date | None
    use_count: int = Field(description="requests made under the grant in total")
    used_today: int = Field(description="requests made today (the quota counts these)")
    quota: int | None = Field(description="requests allowed per day; null: no limit")
    fields: list[str] = Field(description="the accessible field paths")
    conditions: list[dict[str, Any]]


class PermissionsOut(Schema):
    permissions: list[PermissionOut]


class RecordsOut(Schema):
    records: list[dict[str, Any]]


# An identifier value as text: 1 to 255 characters, not only spaces (``retrieval.access``).
IdentifierValue = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"\S")]


class LookupIn(Schema):
    field: str = Field(description="an identifier field path, e.g. board_members.personal_code")
    values: list[IdentifierValue | int] = Field(min_length=1, max_length=1000)


class LookupOut(Schema):
    records: list[dict[str, Any]]
    not_found: list[str] = Field(
        description="values without a record you may see (missing and outside the grant alike)"
    )
    invalid: list[str] = Field(
        description="values that cannot be a value of the field's kind (e.g. a personal code "
        "with a wrong check digit), as you sent them"
    )


class PageOut(Schema):
    records: list[dict[str, Any]]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class ChangeOut(Schema):
    id: int = Field(description="the change's number in the dataset's change log (increasing)")
    operation: str = Field(description="created, updated or deleted — as your grant sees it")
    key: str = Field(description="the record key")
    at: str = Field(description="when the change was made (ISO 8601, UTC)")
    record: dict[str, Any] | None = Field(description="the granted fields; null when deleted")


class ChangesOut(Schema):
    changes: list[ChangeOut]
    next_cursor: str = Field(description="pass as `cursor` next time (always present)")
    has_more: bool = Field(description="false: you have read everything there is for now")
