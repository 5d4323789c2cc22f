"""The public test data API (no token): the published test datasets, one with its privacy
report, and its records page by page. The records are the test dataset's own (what the last
published release loaded), the same that downloads and sandbox grants see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from dagr.core.headers import link_next

from . import selectors

router = Router(tags=["test data"])


class TestDataOut(Schema):
    __test__ = False  # not a pytest test class, despite the name

    code: str
    test_dataset_code: str
    title_lv: str
    title_en: str
    provider: str
    release: int
    published_at: datetime | None
    records: int


class TestDataDetailOut(TestDataOut):
    fields: list[dict[str, Any]]
    privacy_report: dict[str, Any]
    csv_url: str
    xlsx_url: str


class RecordsPageOut(Schema):
    records: list[dict[str, Any]]
    next_cursor: str | None


def _out(published: selectors.Published) -> dict[str, Any]:
    return {
        "code": published.source.code,
        "test_dataset_code": published.target.code,
        "title_lv": published.target.title_lv,
        "title_en": published.target.title_en,
        "provider": published.source.provider.name,
        "release": published.release.number,
        "published_at": published.release.published_at,
        "records": published.item.records if published.item else 0,
    }


@router.get(
    "/",
    response=list[TestDataOut],
    auth=None,
    summary="List the published test datasets (public)",
    description="Anonymised test datasets, by provider and code. No authentication.",
)
def test_data_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(p) for group in selectors.published_list() for p in group.items]


@router.get(
    "/{code}",
    response=TestDataDetailOut,
    auth=None,
    summary="A published test dataset with its fields and privacy report (public)",
)
def test_data_get(request: HttpRequest, code: str) -> dict[str, Any]:
    published = selectors.published_get(code=code)
    docs = selectors.field_docs(published.source, published.item.rules if published.item else None)
    return {
        **_out(published),
        "fields": [
            {
                "path": d.path,
                "title_lv": d.field.title_lv,
                "title_en": d.field.title_en,
                "type": d.field.type,
                "identifier": d.field.identifier,
                "rule": d.rule,
            }
            for d in docs
        ],
        "privacy_report": published.release.report,
        "csv_url": request.build_absolute_uri(f"/test-data/{published.source.code}.csv"),
        "xlsx_url": request.build_absolute_uri(f"/test-data/{published.source.code}.xlsx"),
    }


@router.get(
    "/{code}/records",
    response=RecordsPageOut,
    auth=None,
    summary="Records of a published test dataset, page by page (public)",
    description=(
        "In a stable order; `next_cursor` (and `Link: rel=next`) continues after the page, "
        "none on the last page."
    ),
)
def test_data_records(
    request: HttpRequest,
    code: str,
    cursor: str | None = Query(None, description="from `next_cursor` of the previous page"),
    limit: int = Query(selectors.DEFAULT_PAGE, ge=1, le=selectors.MAX_PAGE),
) -> HttpResponse:
    published = selectors.published_get(code=code)
    records, next_cursor = selectors.test_records_page(
        target=published.target, cursor=cursor, limit=limit
    )
    body = orjson.dumps({"records": records, "next_cursor": next_cursor})
    return link_next(request, HttpResponse(body, content_type="application/json"), next_cursor)
