"""Markdown → HTML is sanitised: no script, no event handlers, no javascript: URLs; tables and
fenced code survive."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from dagr.knowledge.rendering import plain_text, render, sanitise


class Tags(HTMLParser):
    """Every real tag and attribute of an HTML fragment (escaped text is not a tag)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_harmless(html: str) -> None:
    for tag, attrs in Tags(html).tags:
        assert tag not in {"script", "iframe", "svg", "object", "embed", "style"}, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            if name in {"href", "src"}:
                scheme = re.match(r"^\s*([a-z][a-z0-9+.-]*):", (value or "").lower())
                assert scheme is None or scheme.group(1) in {"http", "https", "mailto"}, html


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "Hello <img src=x onerror=alert(1)>",
        '<a href="#" onclick="alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "![x](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
        "<svg onload=alert(1)>",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    ],
)
def test_no_script_reaches_the_page(markdown):
    assert_harmless(render(markdown))
    # the second layer alone (nh3), as if the Markdown parser let raw HTML through
    assert_harmless(sanitise(markdown))
    assert_harmless(sanitise(render(markdown)))


def test_sanitiser_strips_what_it_must():
    html = sanitise(
        '<p onclick="x()">a<script>alert(1)</script><img src="https://x/a.png" onerror="y()">'
        '<a href="javascript:alert(1)">l</a></p>'
    )
    assert "script" not in html and "onclick" not in html and "onerror" not in html
    assert "javascript" not in html and '<img src="https://x/a.png">' in html


def test_markdown_features():
    html = render(
        "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncurl -s https://x\n```\n\n"
        "[link](https://example.lv) and **bold**"
    )
    assert "<h2>Title</h2>" in html and "<h1>" not in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<pre><code>curl -s https://x\n</code></pre>" in html
    assert 'href="https://example.lv"' in html and 'rel="noopener noreferrer"' in html
    assert "<strong>bold</strong>" in html


def test_plain_text_for_snippets():
    assert plain_text("## Kas\n\n- **pirmais**\n- otrais: `x`") == "Kas pirmais otrais: x"
