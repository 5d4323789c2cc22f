"""Article Markdown → safe HTML, and the plain text that snippets are cut from.

markdown-it-py (CommonMark, the maintained Python port of markdown-it) with tables; raw HTML in
the Markdown is escaped by the parser (``html: False``) and the result is sanitised again with
nh3 (Rust ammonia) on an allow-list: no ``script``, no ``on*`` attributes, links only to
http(s)/mailto and relative addresses, images only from http(s) or our own media path.
Two layers on purpose: articles are written by administrators in the portal, and a parser bug or
a future option must not turn into stored cross-site scripting for every reader.
"""

from __future__ import annotations

import functools
import html as html_lib
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "th": {"scope"},
    "ol": {"start"},
}
_HEADING_SHIFT = re.compile(r"<(/?)h1>")


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render(markdown: str) -> str:
    """Safe HTML of an article's Markdown (a level-1 heading becomes level 2: the page's own
    title is the only ``h1``)."""
    html = _parser().render(markdown or "")
    html = _HEADING_SHIFT.sub(r"<\1h2>", html)
    return sanitise(html)


_BLOCK_TAG_RE = re.compile(r"</?(?:p|h[1-6]|li|ul|ol|pre|tr|td|th|table|blockquote|br|hr)\b[^>]*>")
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")


_MARKUP_RES = [
    (re.compile(r"^```.*$|^~~~.*$", re.MULTILINE), " "),  # code fence lines
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url), ![alt](src) → text
    (re.compile(r"^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+", re.MULTILINE), ""),  # block marks
    (re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$", re.MULTILINE), " "),
    (re.compile(r"[*_`|]+"), " "),  # emphasis, code spans, table bars
]


@functools.lru_cache(maxsize=4096)
def snippet_text(markdown: str) -> str:
    """The text of an article's Markdown with its markup removed, for search snippets: a few
    regular expressions instead of a full parse (search shows twenty snippets per query; the
    full parser cost more than the search itself). Close enough for a 220-character excerpt."""
    text = markdown or ""
    for pattern, replacement in _MARKUP_RES:
        text = pattern.sub(replacement, text)
    return _SPACE_RE.sub(" ", text).strip()


def plain_text(markdown: str) -> str:
    """The readable text of an article (for the search index): rendered, tags dropped."""
    rendered = _parser().render(markdown or "")
    return _SPACE_RE.sub(
        " ", html_lib.unescape(_TAG_RE.sub("", _BLOCK_TAG_RE.sub(" ", rendered)))
    ).strip()
