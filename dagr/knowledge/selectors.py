"""Reads of the knowledge base: what a visitor may read, the index, search, contextual help,
related articles, versions and their diffs, feedback."""

from __future__ import annotations

import difflib
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dagr.core.actors import Visitor
from dagr.core.errors import NotFound
from dagr.permissions import rules

from . import content, rendering, search_index, terms
from .models import Article, ArticleImage, ArticleVersion, Feedback


def articles_visible(user: Visitor) -> QuerySet[Article]:
    """Public articles for everyone; "signed-in only" ones for signed-in users."""
    articles = Article.objects.all()
    if not rules.is_authenticated(user):
        articles = articles.filter(visibility=Article.Visibility.PUBLIC)
    return articles


def article_get(*, slug: str, user: Visitor) -> Article:
    """An article the visitor may read; ``NotFound`` for a missing one and a hidden one alike."""
    article = articles_visible(user).filter(slug=slug).first()
    if article is None:
        raise NotFound
    return article


def article_for_edit(*, slug: str) -> Article:
    article = Article.objects.filter(slug=slug).first()
    if article is None:
        raise NotFound
    return article


@dataclass
class CategoryGroup:
    category: content.Category
    articles: list[Article]


def index_by_category(*, user: Visitor, audience: str | None = None) -> list[CategoryGroup]:
    """The /help/ index: categories in their order, each with its readable articles."""
    articles = list(articles_visible(user).order_by("order", "slug"))
    if audience and audience in content.AUDIENCES:
        articles = [a for a in articles if audience in a.audiences or "everyone" in a.audiences]
    groups = []
    for category in content.categories():
        inside = [a for a in articles if a.category == category.slug]
        if inside:
            groups.append(CategoryGroup(category, inside))
    return groups


def related_articles(article: Article, *, user: Visitor, limit: int = 5) -> list[Article]:
    """The article's ``related`` list first (in its order), then others sharing a topic."""
    visible = articles_visible(user).exclude(pk=article.pk)
    named = {a.slug: a for a in visible.filter(slug__in=article.related)}
    result = [named[slug] for slug in article.related if slug in named]
    if len(result) < limit and article.topics:
        for other in articles_for_topics(article.topics, user):
            if other.pk != article.pk and other not in result:
                result.append(other)
    return result[:limit]


def articles_for_topics(topics: list[str] | tuple[str, ...], user: Visitor) -> list[Article]:
    """Readable articles sharing at least one of ``topics``, most shared first (e.g. catalog's
    dataset page asks with the dataset's topics)."""
    wanted = {topic.lower() for topic in topics}
    if not wanted:
        return []
    scored = []
    for article in articles_visible(user).order_by("order", "slug"):
        shared = len(wanted & {topic.lower() for topic in article.topics})
        if shared:
            scored.append((-shared, article.order, article.slug, article))
    return [item[-1] for item in sorted(scored, key=lambda item: item[:3])]


# --- contextual help: portal URL name → article ------------------------------------------------

_PAGES_TTL_S = 30.0
_pages_lock = threading.Lock()
_pages_map: dict[str, tuple[str, str]] = {}
_pages_loaded_at = -math.inf


def pages_map_forget() -> None:
    """Called by the services after a write (this process; others refresh within 30 s)."""
    global _pages_loaded_at
    with _pages_lock:
        _pages_loaded_at = -math.inf


def _pages() -> dict[str, tuple[str, str]]:
    global _pages_map, _pages_loaded_at
    with _pages_lock:
        if time.monotonic() - _pages_loaded_at > _PAGES_TTL_S:
            mapping: dict[str, tuple[str, str]] = {}
            rows = Article.objects.order_by("order", "slug").values_list(
                "slug", "visibility", "pages"
            )
            for slug, visibility, pages in rows:
                for page in pages or []:
                    mapping.setdefault(page, (slug, visibility))
            _pages_map, _pages_loaded_at = mapping, time.monotonic()
        return _pages_map


def article_for_page(view_name: str | None, user: Visitor = None) -> str | None:
    """The slug of the article explaining a portal page (its URL name, e.g.
    ``grants:request_create``), or None; an article for signed-in users only is offered to them
    only."""
    if not view_name:
        return None
    found = _pages().get(view_name)
    if found is None:
        return None
    slug, visibility = found
    if visibility != Article.Visibility.PUBLIC and not rules.is_authenticated(user):
        return None
    return slug


# --- search --------------------------------------------------------------------------------------


@dataclass
class SearchHit:
    article: Article
    title: str
    title_html: SafeString
    snippet_html: SafeString
    score: tuple[Any, ...]


def _match(term: str, query: list[str]) -> int:
    """2 when a query term equals the term, 1 when it is a prefix of it, else 0."""
    best = 0
    for q in query:
        if term == q:
            return 2
        if term.startswith(q):
            best = 1
    return best


def _score(
    candidate: search_index.Candidate, query: list[str], weights: dict[str, float]
) -> tuple[int, float, float]:
    """(query terms found, title score, body score): every query term found first, then titles
    over bodies, exact terms over prefixes; a rarer query term weighs more than a common one
    ("dataset identifiers": "identifiers" says more than "dataset", found in nearly every
    article)."""
    found = 0
    title_score = 0.0
    body_score = 0.0
    body = Counter(candidate.body_terms)
    for q in query:
        title_best = max(
            (2 if t == q else 1 if t.startswith(q) else 0) for t in candidate.title_terms or [""]
        )
        exact = body.get(q, 0)
        prefix = sum(n for t, n in body.items() if t != q and t.startswith(q))
        if title_best or exact or prefix:
            found += 1
        title_score += title_best * weights[q]
        body_score += math.log1p(exact + 0.5 * prefix) * weights[q]
    # Shorter titles that match are the closer answer ("Piekļuves atļaujas" over a long one).
    title_score -= 0.01 * len(candidate.title_terms) if title_score else 0
    return found, round(title_score, 4), round(body_score, 4)


def _weights(found: list[search_index.Candidate], query: list[str]) -> dict[str, float]:
    """Each query term's inverse document frequency among the articles having any term (all
    equal for a one-term query: nothing to weigh)."""
    if len(query) == 1:
        return {query[0]: 1.0}
    having = dict.fromkeys(query, 0)
    for candidate in found:
        distinct = set(candidate.title_terms) | set(candidate.body_terms)
        for q in query:
            if q in distinct or any(t.startswith(q) for t in distinct):
                having[q] += 1
    return {q: math.log(1 + len(found) / max(1, n)) for q, n in having.items()}


def _highlight(text: str, query: list[str], language: str) -> str:
    """``text`` escaped, each word whose term matches the query wrapped in ``<mark>``."""
    out: list[str] = []
    last = 0
    for word in terms._WORD_RE.finditer(text):
        if _match(terms.stem(word.group(0).lower(), language), query):
            out.append(escape(text[last : word.start()]))
            out.append(f"<mark>{escape(word.group(0))}</mark>")
            last = word.end()
    out.append(escape(text[last:]))
    return "".join(out)


def snippet(body_markdown: str, query: list[str], language: str, *, width: int = 220) -> SafeString:
    """A piece of the article's text around the first match, matches highlighted."""
    text = rendering.snippet_text(body_markdown)
    start = 0
    for word in terms._WORD_RE.finditer(text):
        if _match(terms.stem(word.group(0).lower(), language), query):
            start = max(0, word.start() - width // 3)
            break
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    piece = text[start : start + width]
    if start + width < len(text):
        cut = piece.rfind(" ")
        piece = (piece[:cut] if cut > width // 2 else piece) + " …"
    prefix = "… " if start else ""
    return mark_safe(prefix + _highlight(piece, query, language))  # noqa: S308 — escaped above


def search(
    q: str, *, language: str, user: Visitor, limit: int = 20, candidates: int = 100
) -> list[SearchHit]:
    """Articles for a query in one language: every query term first (any term if none has all),
    then title matches above body matches, exact terms above prefixes; snippets highlighted."""
    language = "en" if language == "en" else "lv"
    query = terms.query_terms(q, language)
    if not query:
        return []
    found = search_index.candidates(query, language, limit=candidates)
    # The articles with any term give each term's rarity (and are the answer when none has all).
    anywhere = (
        search_index.candidates(query, language, limit=candidates, any_term=True)
        if len(query) > 1
        else found
    )
    found = found or anywhere
    if not found:
        return []
    weights = _weights(anywhere, query)
    # Only what ranking needs for the candidates; the texts of the shown page afterwards.
    articles = (
        articles_visible(user).only("id", "slug", "order").in_bulk([c.article_id for c in found])
    )
    ranked = []
    for candidate in found:
        article = articles.get(candidate.article_id)
        if article is None:
            continue
        found_terms, title_score, body_score = _score(candidate, query, weights)
        key = (-found_terms, -title_score, -body_score, article.order, article.slug)
        ranked.append((key, article))
    ranked.sort(key=lambda item: item[0])
    shown = Article.objects.in_bulk([article.pk for _key, article in ranked[:limit]])
    hits = []
    for key, ranked_article in ranked[:limit]:
        article = shown[ranked_article.pk]
        title = article.title(language)
        hits.append(
            SearchHit(
                article=article,
                title=title,
                title_html=mark_safe(_highlight(title, query, language)),  # noqa: S308 — escaped
                snippet_html=snippet(article.body(language), query, language),
                score=key,
            )
        )
    return hits


# --- administration ------------------------------------------------------------------------------


def articles_for_admin() -> QuerySet[Article]:
    return Article.objects.order_by("category", "order", "slug")


def article_versions(article: Article) -> QuerySet[ArticleVersion]:
    return ArticleVersion.objects.filter(article=article).select_related("created_by")


def article_version(article: Article, version: int) -> ArticleVersion:
    found = ArticleVersion.objects.filter(article=article, version=version).first()
    if found is None:
        raise NotFound
    return found


def versions_diff(older: ArticleVersion, newer: ArticleVersion) -> list[tuple[str, SafeString]]:
    """Per text (title and body in each language), a side-by-side HTML table of the changes
    (difflib escapes the compared text), only for the texts that differ."""
    labels = {
        "title_lv": "title_lv", "body_lv": "body_lv", "title_en": "title_en", "body_en": "body_en",
    }  # fmt: skip
    result = []
    differ = difflib.HtmlDiff(wrapcolumn=70)
    for name in labels:
        before, after = getattr(older, name), getattr(newer, name)
        if before == after:
            continue
        table = differ.make_table(
            before.splitlines(),
            after.splitlines(),
            f"v{older.version}",
            f"v{newer.version}",
            context=True,
            numlines=2,
        )
        result.append((name, mark_safe(table)))  # noqa: S308 — HtmlDiff escapes the text
    if older.meta != newer.meta:
        before_meta = "\n".join(f"{k}: {v}" for k, v in sorted(older.meta.items()))
        after_meta = "\n".join(f"{k}: {v}" for k, v in sorted(newer.meta.items()))
        table = differ.make_table(
            before_meta.splitlines(),
            after_meta.splitlines(),
            f"v{older.version}",
            f"v{newer.version}",
        )
        result.append(("meta", mark_safe(table)))  # noqa: S308 — HtmlDiff escapes the text
    return result


def feedback_list(*, article: Article | None = None) -> QuerySet[Feedback]:
    items = Feedback.objects.select_related("article", "user")
    if article is not None:
        items = items.filter(article=article)
    return items


def feedback_summary(article: Article) -> dict[str, int]:
    rows = Feedback.objects.filter(article=article)
    return {"yes": rows.filter(helpful=True).count(), "no": rows.filter(helpful=False).count()}


def images() -> QuerySet[ArticleImage]:
    return ArticleImage.objects.all()
