"""The knowledge base (issue #16): articles in Latvian and English (each language its own text),
every saved text kept as a version, readers' "was this helpful?" feedback and attached images.

Shipped articles come from ``content/articles/<slug>.md`` (``content.py`` parses them,
``services.articles_load_shipped`` loads them); an article edited in the portal keeps its edit:
the loader updates only articles whose newest version came from a shipped file.

The search index is not a model: one table per language (``knowledge_search_lv``,
``knowledge_search_en``) created by migration 0002 as an FTS5 table on SQLite and as a table
with a ``tsvector`` on PostgreSQL, written by ``search_index.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

LANGUAGES = ("lv", "en")


class Article(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", _("everyone")
        AUTHENTICATED = "authenticated", _("signed-in users only")

    class Source(models.TextChoices):
        SHIPPED = "shipped", _("shipped with DAGR")
        PORTAL = "portal", _("edited in the portal")

    slug = models.SlugField(_("address"), max_length=100, unique=True)
    category = models.CharField(_("category"), max_length=50)
    audiences = models.JSONField(_("audiences"), default=list)
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    order = models.IntegerField(_("order"), default=100)
    topics = models.JSONField(_("topics"), default=list)
    pages = models.JSONField(_("portal pages"), default=list)
    related = models.JSONField(_("related articles"), default=list)
    title_lv = models.CharField(_("title (Latvian)"), max_length=200)
    body_lv = models.TextField(_("text (Latvian)"), blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200)
    body_en = models.TextField(_("text (English)"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Where the newest version came from, and the digest of the shipped file last loaded: the
    # loader updates a shipped article when its file changed, never one edited in the portal.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SHIPPED)
    shipped_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["category", "order", "slug"]
        verbose_name = _("help article")
        verbose_name_plural = _("help articles")

    def __str__(self) -> str:
        return self.slug

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_lv

    def body(self, language: str) -> str:
        return self.body_en if language == "en" else self.body_lv


class ArticleVersion(models.Model):
    """One saved state of an article: both texts and its description, who and when."""

    class Source(models.TextChoices):
        SHIPPED = "shipped", _("shipped with DAGR")
        PORTAL = "portal", _("edited in the portal")
        REVERTED = "reverted", _("reverted to an earlier version")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    title_lv = models.CharField(_("title (Latvian)"), max_length=200)
    body_lv = models.TextField(_("text (Latvian)"), blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200)
    body_en = models.TextField(_("text (English)"), blank=True)
    meta = models.JSONField(_("description"), default=dict)
    source = models.CharField(max_length=10, choices=Source.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(_("saved by"), max_length=255, blank=True)

    class Meta:
        ordering = ["article", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["article", "version"], name="knowledge_article_version")
        ]
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version}"


class Feedback(models.Model):
    """A reader's answer to "was this helpful?" (and an optional comment)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    language = models.CharField(_("language"), max_length=5, default="lv")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("article feedback")
        verbose_name_plural = _("article feedback")

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


class ArticleImage(models.Model):
    """An image for articles: stored re-encoded (Pillow) without its metadata."""

    file = models.FileField(_("file"), upload_to="knowledge/images/", max_length=200)
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("article image")
        verbose_name_plural = _("article images")

    def __str__(self) -> str:
        return self.name
