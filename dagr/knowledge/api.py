"""The public help API (no authentication): search and the article list. Articles for signed-in
users only are left out (a signed-in portal session sees them too)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from dagr.core.errors import ValidationError
from dagr.core.pagination import BoundedLimitOffsetPagination

from . import selectors

router = Router(tags=["help"])


class SearchHitOut(Schema):
    slug: str
    title: str
    url: str
    category: str
    audiences: list[str]
    snippet: str = Field(
        description="HTML: the article's text around the match, escaped, matched words in <mark>"
    )


class ArticleOut(Schema):
    slug: str
    url: str
    category: str
    audiences: list[str]
    visibility: str
    title_lv: str
    title_en: str
    topics: list[str]
    pages: list[str]
    version: int


def _url(request: HttpRequest, slug: str) -> str:
    return request.build_absolute_uri(reverse("knowledge:article", kwargs={"slug": slug}))


@router.get(
    "/search",
    response=list[SearchHitOut],
    auth=None,
    summary="Search the help articles (public)",
    description=(
        "Latvian-aware search (inflected forms and words typed without diacritics find the "
        "article) in one language; titles rank above text. At most 20 hits. No authentication."
    ),
)
def help_search(
    request: HttpRequest,
    q: str = Query(
        ...,
        min_length=1,
        max_length=200,
        pattern=r"\S",
        description="the words to search for (at least one character that is not a space)",
    ),
    lang: Literal["lv", "en"] = Query("lv", description="the language of the articles"),
) -> list[dict[str, Any]]:
    if not q.strip():
        raise ValidationError(
            _("Give the words to search for in q."),
            code="query_empty",
            errors=[{"field": "q", "message": _("Give the words to search for in q.")}],
        )
    hits = selectors.search(q, language=lang, user=request.user)
    return [
        {
            "slug": hit.article.slug,
            "title": hit.title,
            "url": _url(request, hit.article.slug),
            "category": hit.article.category,
            "audiences": hit.article.audiences,
            "snippet": str(hit.snippet_html),
        }
        for hit in hits
    ]


@router.get(
    "/articles",
    response=list[ArticleOut],
    auth=None,
    summary="List the help articles (public)",
    description="Articles by category and order, paged. No authentication.",
)
@paginate(BoundedLimitOffsetPagination)
def help_articles(request: HttpRequest) -> Any:
    return [
        {
            "slug": article.slug,
            "url": _url(request, article.slug),
            "category": article.category,
            "audiences": article.audiences,
            "visibility": article.visibility,
            "title_lv": article.title_lv,
            "title_en": article.title_en,
            "topics": article.topics,
            "pages": article.pages,
            "version": article.version,
        }
        for article in selectors.articles_visible(request.user).order_by(
            "category", "order", "slug"
        )
    ]
