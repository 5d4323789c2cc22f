"""The shipped content's file format: ``content/categories.yaml`` and
``content/articles/<slug>.md``.

An article file is YAML front matter between two ``---`` lines, then the Latvian and the English
Markdown text, each after its marker line::

    ---
    slug: request-access
    category: recipients
    audiences: [recipient, signatory]   # provider|recipient|signatory|administrator|everyone
    visibility: public                  # or authenticated
    order: 10
    pages: [grants:request_create]      # portal URL names this article explains (may be empty)
    topics: [access, grants, legal-basis]
    related: [legal-basis]
    title_lv: Piekļuves atļaujas pieprasīšana
    title_en: Requesting an access grant
    ---
    <!-- lang: lv -->
    Latvian Markdown…
    <!-- lang: en -->
    English Markdown…

``parse_article`` raises ``ContentError`` naming the file and the problem; nothing here touches
the database (the loader in ``services.py`` does).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONTENT_DIR = Path(__file__).resolve().parent / "content"
ARTICLES_DIR = CONTENT_DIR / "articles"
AUDIENCES = ("provider", "recipient", "signatory", "administrator", "everyone")
VISIBILITIES = ("public", "authenticated")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PAGE_RE = re.compile(r"^[a-z_]+:[a-z0-9_]+$")
# Addresses the /help/ pages use themselves: no article may take them.
RESERVED_SLUGS = {"search", "manage", "images"}
_MARKER_RE = re.compile(r"^<!--\s*lang:\s*(lv|en)\s*-->\s*$", re.MULTILINE)


class ContentError(ValueError):
    """A shipped content file that does not follow the format."""


@dataclass(frozen=True)
class Category:
    slug: str
    order: int
    title_lv: str
    title_en: str

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_lv


@dataclass
class ArticleSource:
    slug: str
    category: str
    audiences: list[str]
    visibility: str
    order: int
    pages: list[str]
    topics: list[str]
    related: list[str]
    title_lv: str
    title_en: str
    body_lv: str
    body_en: str
    digest: str = ""
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """The description stored with each version (everything but the texts)."""
        return {
            "category": self.category,
            "audiences": self.audiences,
            "visibility": self.visibility,
            "order": self.order,
            "pages": self.pages,
            "topics": self.topics,
            "related": self.related,
        }


@functools.cache
def categories() -> tuple[Category, ...]:
    raw = yaml.safe_load((CONTENT_DIR / "categories.yaml").read_text(encoding="utf-8")) or []
    result = [
        Category(
            slug=str(item["slug"]),
            order=int(item.get("order", 100)),
            title_lv=str(item["title_lv"]),
            title_en=str(item["title_en"]),
        )
        for item in raw
    ]
    return tuple(sorted(result, key=lambda c: (c.order, c.slug)))


def category_slugs() -> set[str]:
    return {category.slug for category in categories()}


def _string_list(value: Any, name: str, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ContentError(f"{where}: {name} must be a list of strings")
    return [item.strip() for item in value]


def split_languages(text: str, where: str = "article") -> dict[str, str]:
    """The Markdown after each ``<!-- lang: xx -->`` marker."""
    markers = list(_MARKER_RE.finditer(text))
    found = [m.group(1) for m in markers]
    if sorted(found) != ["en", "lv"]:
        raise ContentError(
            f"{where}: needs exactly one <!-- lang: lv --> and one <!-- lang: en -->"
        )
    bodies = {}
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        bodies[marker.group(1)] = text[marker.end() : end].strip() + "\n"
    return bodies


def parse_article(text: str, *, where: str = "article") -> ArticleSource:
    """One article file's text → ``ArticleSource``; ``ContentError`` on any deviation."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    if not text.startswith("---\n"):
        raise ContentError(f"{where}: must start with a '---' front matter line")
    try:
        head, body = text[4:].split("\n---\n", 1)
    except ValueError as exc:
        raise ContentError(f"{where}: the front matter has no closing '---' line") from exc
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise ContentError(f"{where}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ContentError(f"{where}: front matter must be a mapping")
    missing = [k for k in ("slug", "category", "title_lv", "title_en") if not meta.get(k)]
    if missing:
        raise ContentError(f"{where}: missing {', '.join(missing)}")
    slug = str(meta["slug"])
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise ContentError(f"{where}: slug {slug!r} is not lowercase words joined by '-'")
    category = str(meta["category"])
    if category not in category_slugs():
        raise ContentError(f"{where}: unknown category {category!r}")
    audiences = _string_list(meta.get("audiences") or ["everyone"], "audiences", where)
    unknown = sorted(set(audiences) - set(AUDIENCES))
    if unknown:
        raise ContentError(f"{where}: unknown audience(s) {', '.join(unknown)}")
    visibility = str(meta.get("visibility") or "public")
    if visibility not in VISIBILITIES:
        raise ContentError(f"{where}: visibility must be public or authenticated")
    pages = _string_list(meta.get("pages"), "pages", where)
    bad_pages = [page for page in pages if not PAGE_RE.match(page)]
    if bad_pages:
        raise ContentError(f"{where}: pages must be URL names like grants:request_create")
    related = _string_list(meta.get("related"), "related", where)
    try:
        order = int(meta.get("order", 100))
    except (TypeError, ValueError) as exc:
        raise ContentError(f"{where}: order must be a whole number") from exc
    bodies = split_languages(body, where)
    known = {
        "slug", "category", "audiences", "visibility", "order", "pages", "topics", "related",
        "title_lv", "title_en",
    }  # fmt: skip
    return ArticleSource(
        slug=slug,
        category=category,
        audiences=audiences,
        visibility=visibility,
        order=order,
        pages=pages,
        topics=_string_list(meta.get("topics"), "topics", where),
        related=related,
        title_lv=str(meta["title_lv"]).strip(),
        title_en=str(meta["title_en"]).strip(),
        body_lv=bodies["lv"],
        body_en=bodies["en"],
        digest=hashlib.sha256(text.encode()).hexdigest(),
        path=where,
        extra={k: v for k, v in meta.items() if k not in known},
    )


def shipped_articles(directory: Path | None = None) -> list[ArticleSource]:
    """Every ``*.md`` under the articles directory, parsed; the file name must be the slug."""
    directory = directory or ARTICLES_DIR
    result = []
    for path in sorted(directory.glob("*.md")):
        source = parse_article(path.read_text(encoding="utf-8"), where=path.name)
        if path.stem != source.slug:
            raise ContentError(f"{path.name}: the file name must be <slug>.md ({source.slug}.md)")
        result.append(source)
    slugs = {source.slug for source in result}
    for source in result:
        dangling = sorted(set(source.related) - slugs)
        if dangling:
            raise ContentError(
                f"{source.path}: related article(s) not found: {', '.join(dangling)}"
            )
    return result
