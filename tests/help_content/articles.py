"""Reads the knowledge base's shipped articles straight from their files
(``dagr/knowledge/content/articles/<slug>.md``), without the knowledge app: YAML front matter
between ``---`` lines, then ``<!-- lang: lv -->`` and ``<!-- lang: en -->`` sections of Markdown.
Used by the content checks (``tests/help_content``) and by the end-to-end test that runs every
code example (``tests/e2e/test_help_examples.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ARTICLES_DIR = ROOT / "dagr" / "knowledge" / "content" / "articles"
LANG_MARK = re.compile(r"^<!-- lang: (lv|en) -->\s*$", re.MULTILINE)
# a fenced block at the start of a line: ```lang … ``` (the closing fence alone on its line)
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
EXECUTED = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python", "py": "python"}
PARSED = {"json", "yaml", "yml"}


@dataclass
class Block:
    lang: str  # as written after the fence
    code: str
    language: str  # the article language the block is in: lv or en

    @property
    def runner(self) -> str | None:
        return EXECUTED.get(self.lang)


@dataclass
class Article:
    path: Path
    meta: dict[str, Any]
    bodies: dict[str, str]
    blocks: list[Block] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return str(self.meta["slug"])


def parse(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{path.name}: no front matter")
    _, front, rest = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    parts = LANG_MARK.split(rest)
    # parts: [before, "lv", body, "en", body]
    if parts[0].strip():
        raise ValueError(f"{path.name}: text before the first language mark")
    bodies = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    blocks = [
        Block(lang=m.group(1).lower(), code=m.group(2), language=language)
        for language, body in bodies.items()
        for m in FENCE.finditer(body)
    ]
    return Article(path=path, meta=meta, bodies=bodies, blocks=blocks)


def all_articles() -> list[Article]:
    return [parse(path) for path in sorted(ARTICLES_DIR.glob("*.md"))]
