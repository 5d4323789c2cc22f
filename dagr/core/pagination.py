"""The API's bounds on integer query and path parameters: ninja declares them (``ge``/``le``, so
OpenAPI shows them) and answers a value outside them with 422 ``invalid_request`` — never a
database overflow (a 500) for ``?offset=9223372036854775808``."""

from __future__ import annotations

from typing import Annotated

from django.conf import settings
from ninja import Field, Path, Schema
from ninja.pagination import LimitOffsetPagination

MAX_PAGE_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
# Database ids and version numbers (PostgreSQL integer/bigint) are positive and below this.
MAX_ID = 2**63 - 1

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """ninja's limit/offset paging with an upper bound on both."""

    class Input(Schema):
        limit: int = Field(
            getattr(settings, "NINJA_PAGINATION_PER_PAGE", 100),
            ge=1,
            le=MAX_PAGE_LIMIT,
            description=f"page size, 1–{MAX_PAGE_LIMIT}",
        )
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description=f"items to skip, 0–{MAX_OFFSET:,}")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_PAGE_LIMIT, **kwargs)
