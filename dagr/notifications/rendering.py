"""Rendering of notification and newsletter texts: sandboxed Jinja2, validated before saving,
HTML sanitised and its CSS inlined, the text part derived from the HTML when not written.

- ``SandboxedEnvironment`` + ``StrictUndefined``: templates are written by administrators in the
  portal, so they may not reach Python objects (``{{ ''.__class__ }}`` raises ``SecurityError``)
  and a misspelt variable fails instead of rendering empty.
- ``validate`` parses the template (``jinja2.meta.find_undeclared_variables``) and refuses any
  variable not documented for the kind, and any attribute or item lookup at all: every documented
  value is a plain string or number, so a ``.`` or ``[...]`` can only be a mistake or a probe.
- ``nh3`` (ammonia) sanitises the rendered HTML: no script, no ``on*`` handlers, no
  ``javascript:`` links; ``style`` attributes are kept (mail clients need inline styles).
- ``css_inline`` moves the fixed layout's ``<style>`` rules into ``style`` attributes, because
  several mail clients drop ``<style>`` blocks. Chosen over premailer (pure Python, slow, less
  maintained): css-inline is maintained, MIT, a Rust wheel, and fast enough for 10,000 messages.
- ``html_to_text``: our own ~50-line converter on the standard library's HTMLParser instead of
  html2text, which is GPL-3.0 (we ship under EUPL-1.2) and produces Markdown escapes that read
  badly in a plain-text mail; we need only paragraphs, line breaks, lists and "text (link)".
"""

from __future__ import annotations

import functools
import html
import re
from html.parser import HTMLParser
from typing import Any

import css_inline
import nh3
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

_HTML_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
_TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
# No globals (range, cycler, joiner, namespace, lipsum, dict): a template sees its documented
# variables only, and ``find_undeclared_variables`` then reports any other name.
for _env in (_HTML_ENV, _TEXT_ENV):
    _env.globals.clear()

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "li",
    "ol", "p", "pre", "small", "span", "strong", "table", "tbody", "td", "th", "thead", "tr",
    "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"*": {"style", "class", "lang", "dir"}, "a": {"href", "title"}}

LAYOUT = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; color: #1b1b1b; line-height: 1.5; }}
.mail {{ max-width: 640px; margin: 0 auto; padding: 16px; }}
.brand {{ font-weight: bold; color: #9e3039; letter-spacing: 0.05em; }}
a {{ color: #0b4f8a; }}
.footer {{ margin-top: 24px; font-size: 13px; color: #555555; border-top: 1px solid #cccccc;
  padding-top: 8px; }}
</style></head>
<body><div class="mail"><p class="brand">DAGR</p>
{body}
<div class="footer">{footer}</div></div></body></html>"""


class TemplateInvalid(ValueError):
    """A template refused by ``validate``; ``errors`` are sentences for the editor."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def validate(source: str, allowed: set[str], *, what: str) -> None:
    """Refuse a template that does not parse, uses a variable outside ``allowed`` or looks up
    an attribute or item."""
    from django.utils.translation import gettext as _

    try:
        tree = _HTML_ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(
            [_("%(what)s: syntax error on line %(line)s: %(message)s")
             % {"what": what, "line": exc.lineno, "message": exc.message}]
        ) from exc  # fmt: skip
    errors = []
    unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
    if unknown:
        errors.append(
            _("%(what)s: unknown variable(s): %(names)s")
            % {"what": what, "names": ", ".join(unknown)}
        )
    if any(True for _node in tree.find_all((nodes.Getattr, nodes.Getitem))):
        errors.append(
            _("%(what)s: attribute and item lookups (“.” or “[…]”) are not allowed")
            % {"what": what}
        )
    if errors:
        raise TemplateInvalid(errors)


@functools.lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    """Compiled once per source text (a newsletter renders the same source 10,000 times)."""
    return (_HTML_ENV if html else _TEXT_ENV).from_string(source)


def render_html_fragment(source: str, context: dict[str, Any]) -> str:
    return sanitise(_compiled(source, True).render(context))


def render_text(source: str, context: dict[str, Any]) -> str:
    return _compiled(source, False).render(context)


def sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def wrap(body_html: str, *, lang: str, title: str, footer_html: str) -> str:
    """The full e-mail document: fixed layout around the (sanitised) body, CSS inlined."""
    document = LAYOUT.format(
        lang=html.escape(lang), title=html.escape(title), body=body_html, footer=footer_html
    )
    return css_inline.inline(document)


_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "table", "tr", "ul", "ol", "blockquote", "pre"}


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str | None] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "script", "title", "head"}:
            self.skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in {"td", "th"}:
            self.parts.append("  ")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "title", "head"}:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith("mailto:"):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(source: str) -> str:
    maker = _TextMaker()
    maker.feed(source)
    maker.close()
    text = "".join(maker.parts)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
