"""The shipped knowledge base articles (``dagr/knowledge/content/articles``), read from their
files: the format, both languages written out, valid references, example blocks that parse, and
together an article for every portal page a signed-in person uses."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver

from tests.help_content.articles import ARTICLES_DIR, all_articles

ARTICLES = all_articles()
BY_SLUG = {article.slug: article for article in ARTICLES}
CATEGORIES = {
    c["slug"] for c in yaml.safe_load((ARTICLES_DIR.parent / "categories.yaml").read_text())
}
AUDIENCES = {"provider", "recipient", "signatory", "administrator", "everyone"}
KEYS = {
    "slug",
    "category",
    "audiences",
    "visibility",
    "order",
    "pages",
    "topics",
    "related",
    "title_lv",
    "title_en",
}
# Named URLs that are not pages a person works in (machine endpoints, the language switch), and
# the help pages themselves.
# not pages a person reads: endpoints for machines (metrics, the DCAT-AP catalogue feeds, the
# translation catalogue) and the language switch
NOT_PAGES = {
    "metrics", "set_language", "javascript-catalog", "portal:healthz", "portal:home",
    "dcat_catalog_ttl", "dcat_catalog_jsonld", "dcat_catalog_rdf",
}  # fmt: skip
NOT_PAGE_PREFIXES = ("api:",)
HELP_PAGES = {
    "knowledge:index",
    "knowledge:search",
    "knowledge:article",
    "knowledge:feedback_create",
}
LATVIAN_LETTERS = re.compile("[āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ]")


def prose_lines(markdown: str) -> set[str]:
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)
    return {line.strip() for line in text.splitlines() if len(line.strip()) > 40}


def url_names(patterns: list, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_there_are_enough_articles_and_their_slugs_are_their_file_names():
    assert len(ARTICLES) >= 22
    for article in ARTICLES:
        assert article.path.stem == article.slug
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", article.slug)


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_front_matter(article):
    meta = article.meta
    assert set(meta) == KEYS
    assert meta["category"] in CATEGORIES
    assert meta["audiences"] and set(meta["audiences"]) <= AUDIENCES
    assert meta["visibility"] in {"public", "authenticated"}
    assert isinstance(meta["order"], int)
    assert meta["topics"] and all(re.fullmatch(r"[a-z0-9-]+", t) for t in meta["topics"])
    assert set(meta["related"]) <= set(BY_SLUG) - {article.slug}
    assert meta["title_lv"] != meta["title_en"]


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_both_languages_are_written_out(article):
    assert list(article.bodies) == ["lv", "en"]
    lv, en = article.bodies["lv"], article.bodies["en"]
    assert len(lv) > 600 and len(en) > 600
    assert LATVIAN_LETTERS.search(lv)
    # its own text, not a copy of the other language: no long prose line (outside code) in both
    assert not prose_lines(lv) & prose_lines(en)


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_example_blocks_parse(article):
    for block in article.blocks:
        if block.lang == "json":
            json.loads(block.code)
        elif block.lang in {"yaml", "yml"}:
            assert yaml.safe_load(block.code)
        elif block.runner == "python":
            compile(block.code, f"{article.slug}.md", "exec")
        elif block.runner is None:
            assert block.lang in {"text", "csv"}, f"{article.slug}: unknown block {block.lang!r}"

    # the same examples in both languages (the e2e test runs each language's)
    def runnable(language: str) -> list[str]:
        return [b.lang for b in article.blocks if b.runner and b.language == language]

    assert runnable("lv") == runnable("en")


def test_every_pages_entry_is_a_named_url():
    names = url_names(get_resolver().url_patterns)
    for article in ARTICLES:
        unknown = set(article.meta["pages"]) - names
        assert not unknown, f"{article.slug}: {sorted(unknown)}"


def test_every_portal_page_has_an_article():
    names = url_names(get_resolver().url_patterns)
    pages = {
        n for n in names if n not in NOT_PAGES | HELP_PAGES and not n.startswith(NOT_PAGE_PREFIXES)
    }
    covered = {page for article in ARTICLES for page in article.meta["pages"]}
    assert sorted(pages - covered) == []


def test_a_page_is_explained_by_one_article():
    seen: dict[str, str] = {}
    for article in ARTICLES:
        for page in article.meta["pages"]:
            assert page not in seen, f"{page}: {seen.get(page)} and {article.slug}"
            seen[page] = article.slug
