"""Writes of the knowledge base: articles (create, edit, revert — each a new version, audited),
readers' feedback, images, and loading the shipped articles."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from dagr.accounts.models import User
from dagr.audit.services import admin_entry_create
from dagr.core.actors import Actor, Visitor
from dagr.core.errors import NotFound, PermissionDenied, RateLimited, ValidationError
from dagr.core.ratelimit import rate_limit_hit, rate_limit_wait
from dagr.permissions import rules

from . import content, loading, selectors
from .models import Article, ArticleImage, ArticleVersion, Feedback

TEXT_FIELDS = ("title_lv", "body_lv", "title_en", "body_en")
META_FIELDS = ("category", "audiences", "visibility", "order", "pages", "topics", "related")
IMAGE_MAX_BYTES = getattr(settings, "DAGR_HELP_IMAGE_MAX_BYTES", 2 * 1024 * 1024)
IMAGE_MAX_PIXELS = 4096 * 4096
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def articles_load_shipped(
    *, actor: Actor | None = None, directory: Path | None = None
) -> loading.LoadReport:
    """Create or update the shipped articles (``content/articles``); articles edited in the
    portal keep their edit. One audit entry when anything changed."""
    with transaction.atomic():
        report = loading.load(Article, ArticleVersion, directory)
        transaction.on_commit(selectors.pages_map_forget)
        if report.created or report.updated:
            admin_entry_create(
                action="knowledge.articles.loaded",
                actor=actor,
                target_type="knowledge.article",
                target_label=_("shipped help articles"),
                changes={"created": report.created, "updated": report.updated},
            )
    return report


def _validate(source: content.ArticleSource, *, article: Article | None) -> None:
    errors: list[dict[str, Any]] = []

    def error(name: str, message: str) -> None:
        errors.append({"field": name, "message": message})

    if not content.SLUG_RE.match(source.slug or "") or source.slug in content.RESERVED_SLUGS:
        error("slug", _("Use lowercase letters, digits and hyphens, e.g. request-access."))
    elif (
        Article.objects.filter(slug=source.slug)
        .exclude(pk=article.pk if article is not None else 0)
        .exists()
    ):
        error("slug", _("Another article already has this address."))
    if source.category not in content.category_slugs():
        error("category", _("Choose a category."))
    if not source.audiences or set(source.audiences) - set(content.AUDIENCES):
        error("audiences", _("Choose at least one audience."))
    if source.visibility not in content.VISIBILITIES:
        error("visibility", _("Choose who may read the article."))
    for name in ("title_lv", "title_en"):
        if not getattr(source, name).strip():
            error(name, _("Write a title in both languages."))
    if [page for page in source.pages if not content.PAGE_RE.match(page)]:
        error("pages", _("Portal pages are URL names such as grants:request_create."))
    unknown = set(source.related) - set(Article.objects.values_list("slug", flat=True))
    if unknown:
        error(
            "related",
            _("No article has the address: %(slugs)s") % {"slugs": ", ".join(sorted(unknown))},
        )
    if errors:
        raise ValidationError(errors[0]["message"], errors=errors)


def _new_version(
    article: Article, *, actor: Actor | None, source: str, note: str = ""
) -> ArticleVersion:
    return ArticleVersion.objects.create(
        article=article,
        version=article.version,
        title_lv=article.title_lv,
        body_lv=article.body_lv,
        title_en=article.title_en,
        body_en=article.body_en,
        meta={name: getattr(article, name) for name in META_FIELDS},
        source=source,
        note=note[:255],
        created_by=_user(actor),
        created_by_label=str(getattr(actor, "full_name", "") or actor or "")[:255],
    )


def _user(actor: Visitor) -> User | None:
    """The portal user behind an actor (None for the system, a connection or a visitor)."""
    return actor if isinstance(actor, User) else None


def _require_manager(actor: Actor) -> None:
    if not rules.can_manage_help_articles(actor):
        raise PermissionDenied


def article_create(*, actor: Actor, source: content.ArticleSource, note: str = "") -> Article:
    _require_manager(actor)
    with transaction.atomic():
        _validate(source, article=None)
        article = Article.objects.create(
            slug=source.slug,
            version=1,
            source=Article.Source.PORTAL,
            **{name: getattr(source, name) for name in META_FIELDS + TEXT_FIELDS},
        )
        _new_version(article, actor=actor, source=ArticleVersion.Source.PORTAL, note=note)
        loading.index(article)
        transaction.on_commit(selectors.pages_map_forget)
        admin_entry_create(
            action="knowledge.article.created",
            actor=actor,
            target=article,
            target_label=article.title_lv,
            changes={"slug": article.slug, "version": 1},
        )
    return article


def article_update(
    *, actor: Actor, slug: str, source: content.ArticleSource, note: str = ""
) -> Article:
    """Save an edit as a new version (the address may change; old links then 404)."""
    _require_manager(actor)
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(slug=slug).first()
        if article is None:
            raise NotFound
        _validate(source, article=article)
        changed = [
            name
            for name in ("slug", *META_FIELDS, *TEXT_FIELDS)
            if getattr(article, name) != getattr(source, name)
        ]
        if not changed:
            return article
        for name in ("slug", *META_FIELDS, *TEXT_FIELDS):
            setattr(article, name, getattr(source, name))
        article.version += 1
        article.source = Article.Source.PORTAL
        article.save()
        _new_version(article, actor=actor, source=ArticleVersion.Source.PORTAL, note=note)
        loading.index(article)
        transaction.on_commit(selectors.pages_map_forget)
        admin_entry_create(
            action="knowledge.article.updated",
            actor=actor,
            target=article,
            target_label=article.title_lv,
            changes={"fields": changed, "version": article.version},
        )
    return article


def article_revert(*, actor: Actor, slug: str, version: int) -> Article:
    """Make an earlier version's texts and description current again — as a new version."""
    _require_manager(actor)
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(slug=slug).first()
        if article is None:
            raise NotFound
        old = ArticleVersion.objects.filter(article=article, version=version).first()
        if old is None:
            raise NotFound
        for name in TEXT_FIELDS:
            setattr(article, name, getattr(old, name))
        allowed = content.category_slugs()
        for name in META_FIELDS:
            if name in old.meta and (name != "category" or old.meta[name] in allowed):
                setattr(article, name, old.meta[name])
        article.version += 1
        article.source = Article.Source.PORTAL
        article.save()
        _new_version(
            article,
            actor=actor,
            source=ArticleVersion.Source.REVERTED,
            note=_("Reverted to version %(version)s") % {"version": version},
        )
        loading.index(article)
        transaction.on_commit(selectors.pages_map_forget)
        admin_entry_create(
            action="knowledge.article.reverted",
            actor=actor,
            target=article,
            target_label=article.title_lv,
            changes={"from_version": version, "version": article.version},
        )
    return article


FEEDBACK_PER_HOUR = 20


def feedback_create(
    *,
    visitor: Visitor,
    slug: str,
    helpful: bool,
    comment: str = "",
    language: str = "lv",
    client: str = "",
) -> Feedback:
    """A reader's "was this helpful?" answer (anyone who may read the article); at most
    ``FEEDBACK_PER_HOUR`` answers an hour from one client address (the form needs no login)."""
    article = selectors.article_get(slug=slug, user=visitor)
    if client:
        wait = rate_limit_wait(scope="help-feedback", value=client, limit=FEEDBACK_PER_HOUR)
        if wait is not None:
            raise RateLimited(retry_after=wait)
        rate_limit_hit(scope="help-feedback", value=client, window_s=3600)
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError(_("The comment may be at most 2,000 characters long."))
    return Feedback.objects.create(
        article=article,
        helpful=helpful,
        comment=comment,
        language="en" if language == "en" else "lv",
        user=_user(visitor),
    )


def image_upload(*, actor: Actor, upload: UploadedFile) -> ArticleImage:
    """Store an image for articles: at most ``IMAGE_MAX_BYTES``, PNG/JPEG/WebP only, decoded and
    re-encoded by Pillow (so nothing but pixels survives: no metadata, no trailing payload)."""
    _require_manager(actor)
    if upload.size is None or upload.size > IMAGE_MAX_BYTES:
        raise ValidationError(
            _("The image may be at most %(size)s MB.") % {"size": IMAGE_MAX_BYTES // (1024 * 1024)}
        )
    data = upload.read(IMAGE_MAX_BYTES + 1)
    if len(data) > IMAGE_MAX_BYTES:
        raise ValidationError(
            _("The image may be at most %(size)s MB.") % {"size": IMAGE_MAX_BYTES // (1024 * 1024)}
        )
    refused = ValidationError(_("Upload a PNG, JPEG or WebP image."), code="image_invalid")
    try:
        with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as probe:
            kind = probe.format or ""
            if probe.width * probe.height > IMAGE_MAX_PIXELS:
                raise ValidationError(_("The image is too large (at most 4096 × 4096 pixels)."))
            probe.load()
            image = probe.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise refused from None
    if kind not in IMAGE_FORMATS:
        raise refused
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
    elif kind == "PNG":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    else:
        image.save(out, format="WEBP", quality=88)
    extension = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[kind]
    name = Path(upload.name or "image").stem[:80] or "image"
    with transaction.atomic():
        stored = ArticleImage(
            name=name,
            content_type=IMAGE_FORMATS[kind],
            width=image.width,
            height=image.height,
            size=out.tell(),
            uploaded_by=_user(actor),
        )
        stored.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(out.getvalue()), save=False)
        stored.save()
        admin_entry_create(
            action="knowledge.image.uploaded",
            actor=actor,
            target=stored,
            target_label=name,
            changes={"type": IMAGE_FORMATS[kind], "width": image.width, "height": image.height},
        )
    return stored
