"""The public, read-only catalogue API (no authentication): the datasets anyone may see
(production and retired), each with its current schema, and the schema as YAML."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from dagr.core.pagination import MAX_ID, BoundedLimitOffsetPagination

from . import selectors, services
from .models import Dataset

router = Router(tags=["catalog"])


class ProviderOut(Schema):
    name: str
    registration_number: str


class FieldOut(Schema):
    name: str
    title_lv: str
    title_en: str
    type: str
    required: bool = False
    personal: bool = False
    identifier: str | None = None
    description_lv: str = ""
    description_en: str = ""
    fields: list[FieldOut] | None = None


class IdentifierOut(Schema):
    path: str
    kind: str


class SchemaOut(Schema):
    version: int
    created_at: datetime
    key: str
    identifiers: list[IdentifierOut]
    fields: list[FieldOut]


class DatasetOut(Schema):
    code: str
    title_lv: str
    title_en: str
    description_lv: str
    description_en: str
    status: str
    provider: ProviderOut
    schema_version: int | None
    updated_at: datetime


class DatasetDetailOut(DatasetOut):
    schema_: SchemaOut | None = Field(None, alias="schema")


def _dataset_out(ds: Dataset) -> dict[str, Any]:
    return {
        "code": ds.code,
        "title_lv": ds.title_lv,
        "title_en": ds.title_en,
        "description_lv": ds.description_lv,
        "description_en": ds.description_en,
        "status": ds.status,
        "provider": ds.provider,
        "schema_version": ds.schema.number if ds.schema else None,
        "updated_at": ds.updated_at,
    }


@router.get(
    "/datasets",
    response=list[DatasetOut],
    auth=None,
    summary="List the public datasets (public)",
    description=(
        "Production and retired datasets, ordered by code. `q` searches codes and titles; "
        "`provider` filters by the provider's registration number. No authentication."
    ),
)
@paginate(BoundedLimitOffsetPagination)
def dataset_list(request: HttpRequest, q: str = "", provider: str = "") -> Any:
    qs = selectors.dataset_queryset_for(
        actor=None, search=q[:100], provider_registration_number=provider
    )
    return [_dataset_out(ds) for ds in qs]


@router.get(
    "/datasets/{code}",
    response=DatasetDetailOut,
    auth=None,
    by_alias=True,
    summary="A public dataset with its current schema (public)",
)
def dataset_get(request: HttpRequest, code: str) -> dict[str, Any]:
    ds = selectors.dataset_get_visible(actor=None, code=code)
    schema = selectors.dataset_schema(ds)
    out = _dataset_out(ds)
    if schema is not None and ds.schema is not None:
        document = schema.as_document()
        out["schema"] = {
            "version": ds.schema.number,
            "created_at": ds.schema.created_at,
            "key": schema.key,
            "identifiers": [{"path": p, "kind": k} for p, k in schema.identifier_paths()],
            "fields": document["fields"],
        }
    return out


@router.get(
    "/datasets/{code}/schema.yaml",
    auth=None,
    summary="The schema of a public dataset as YAML (public)",
    description="`version` picks an earlier schema version; the current one by default.",
    openapi_extra={
        "responses": {200: {"description": "YAML", "content": {"application/yaml": {}}}}
    },
)
def dataset_schema_yaml(
    request: HttpRequest,
    code: str,
    version: int | None = Query(None, ge=1, le=MAX_ID, description="a schema version number"),
) -> HttpResponse:
    ds = selectors.dataset_get_visible(actor=None, code=code)
    schema_version = selectors.schema_version_get(dataset=ds, number=version)
    return HttpResponse(
        services.schema_to_yaml(schema_version.definition),
        content_type="application/yaml; charset=utf-8",
    )
