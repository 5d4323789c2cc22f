"""Loading the shipped articles into the database, given the model classes.

Shared by ``services.articles_load_shipped`` (``dagr demo``, the CLI, tests: the current models)
and the data migration (the historical models of that migration, so that later model changes
do not break it). Idempotent:

- a file whose slug is new → a new article, version 1 (source "shipped");
- an article whose newest version came from a shipped file and whose file changed (digest) →
  updated, a new version;
- an article edited in the portal since → left alone (its edit wins; counted as "kept");
- unchanged → nothing.
Every written article is (re)indexed for search in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from . import content, rendering, search_index


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited in the portal: not overwritten


def index(article: Any) -> None:
    search_index.index_article(
        article.pk,
        {
            "lv": (article.title_lv, rendering.plain_text(article.body_lv)),
            "en": (article.title_en, rendering.plain_text(article.body_en)),
        },
    )


def load(article_model: Any, version_model: Any, directory: Path | None = None) -> LoadReport:
    report = LoadReport()
    sources = content.shipped_articles(directory)
    with transaction.atomic():
        existing = {
            a.slug: a for a in article_model.objects.filter(slug__in=[s.slug for s in sources])
        }
        for source in sources:
            article = existing.get(source.slug)
            fields: dict[str, Any] = {
                **source.meta(),
                "title_lv": source.title_lv,
                "body_lv": source.body_lv,
                "title_en": source.title_en,
                "body_en": source.body_en,
            }
            if article is None:
                article = article_model.objects.create(
                    slug=source.slug,
                    version=1,
                    source="shipped",
                    shipped_digest=source.digest,
                    **fields,
                )
                report.created.append(source.slug)
            elif article.source != "shipped":
                report.kept.append(source.slug)
                continue
            elif article.shipped_digest == source.digest:
                report.unchanged.append(source.slug)
                continue
            else:
                for name, value in fields.items():
                    setattr(article, name, value)
                article.version += 1
                article.shipped_digest = source.digest
                article.save()
                report.updated.append(source.slug)
            version_model.objects.create(
                article=article,
                version=article.version,
                title_lv=article.title_lv,
                body_lv=article.body_lv,
                title_en=article.title_en,
                body_en=article.body_en,
                meta=source.meta(),
                source="shipped",
                note=source.path,
                created_by_label="DAGR",
            )
            index(article)
    return report
