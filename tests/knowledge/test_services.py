"""Writes: the loader (idempotent, portal edits kept), versions on every edit, revert as a new
version, audit entries, feedback, image re-encoding."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dagr.audit.models import AdminEntry
from dagr.core.errors import NotFound, PermissionDenied, ValidationError
from dagr.knowledge import content, selectors, services
from dagr.knowledge.models import Article, ArticleVersion, Feedback
from tests.factories import make_admin, make_user

pytestmark = pytest.mark.django_db

ARTICLE = """---
slug: {slug}
category: providers
audiences: [provider]
visibility: public
order: 5
pages: [uploads:dataset]
topics: [uploads]
related: []
title_lv: {title}
title_en: Test article
---
<!-- lang: lv -->
Teksts.
<!-- lang: en -->
Text.
"""


def write(directory: Path, slug: str, title: str) -> None:
    (directory / f"{slug}.md").write_text(ARTICLE.format(slug=slug, title=title), encoding="utf-8")


def test_loader_is_idempotent_and_keeps_portal_edits(tmp_path):
    write(tmp_path, "kb-one", "Pirmais")
    write(tmp_path, "kb-two", "Otrais")
    first = services.articles_load_shipped(directory=tmp_path)
    assert first.created == ["kb-one", "kb-two"]
    assert AdminEntry.objects.filter(action="knowledge.articles.loaded").count() == 1
    again = services.articles_load_shipped(directory=tmp_path)
    assert again.created == [] and again.updated == [] and again.unchanged == ["kb-one", "kb-two"]
    assert AdminEntry.objects.filter(action="knowledge.articles.loaded").count() == 1

    # the shipped file changes → updated, a new version
    write(tmp_path, "kb-one", "Pirmais, labots")
    admin = make_admin()
    source = content.parse_article(ARTICLE.format(slug="kb-two", title="Labots portālā"))
    services.article_update(actor=admin, slug="kb-two", source=source)
    write(tmp_path, "kb-two", "Jauna piegāde")
    third = services.articles_load_shipped(directory=tmp_path)
    assert third.updated == ["kb-one"] and third.kept == ["kb-two"]
    one = Article.objects.get(slug="kb-one")
    assert one.title_lv == "Pirmais, labots" and one.version == 2
    assert list(one.versions.values_list("version", "source")) == [
        (2, "shipped"), (1, "shipped"),
    ]  # fmt: skip
    assert Article.objects.get(slug="kb-two").title_lv == "Labots portālā"


def source_for(slug: str = "kb-new", **changes: object) -> content.ArticleSource:
    values: dict[str, object] = {
        "slug": slug, "category": "recipients", "audiences": ["recipient"],
        "visibility": "public", "order": 1, "pages": ["grants:list"], "topics": ["access"],
        "related": [], "title_lv": "Jauns raksts", "title_en": "New article",
        "body_lv": "Pirmā versija.", "body_en": "First version.",
    }  # fmt: skip
    values.update(changes)
    return content.ArticleSource(**values)  # type: ignore[arg-type]


def test_create_edit_revert_are_versioned_and_audited():
    admin = make_admin()
    article = services.article_create(actor=admin, source=source_for(), note="first")
    services.article_update(actor=admin, slug="kb-new", source=source_for(body_lv="Otrā versija."))
    services.article_update(
        actor=admin, slug="kb-new", source=source_for(body_lv="Otrā versija.")
    )  # nothing changed: no version
    article.refresh_from_db()
    assert article.version == 2 and article.body_lv == "Otrā versija."
    reverted = services.article_revert(actor=admin, slug="kb-new", version=1)
    assert reverted.version == 3 and reverted.body_lv == "Pirmā versija."
    versions = list(ArticleVersion.objects.filter(article=article).order_by("version"))
    assert [(v.version, v.source) for v in versions] == [
        (1, "portal"), (2, "portal"), (3, "reverted"),
    ]  # fmt: skip
    assert versions[0].created_by == admin and versions[0].note == "first"
    actions = list(
        AdminEntry.objects.filter(target_id=str(article.pk), action__startswith="knowledge.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "knowledge.article.created", "knowledge.article.updated", "knowledge.article.reverted",
    ]  # fmt: skip
    # the search index follows every version
    # (shipped articles speak of versions too, so the check is on this article's own words:
    # the reverted text is found, the text of version 2 no longer is)
    hits = selectors.search("pirmā versija", language="lv", user=admin)
    assert "kb-new" in [hit.article.slug for hit in hits]
    assert "kb-new" not in [
        hit.article.slug for hit in selectors.search("otrā", language="lv", user=admin)
    ]
    diff = selectors.versions_diff(versions[0], versions[1])
    assert [name for name, _table in diff] == ["body_lv"]
    assert "rā&nbsp;versija" in str(diff[0][1])


def test_only_administrators_write():
    user = make_user()
    with pytest.raises(PermissionDenied):
        services.article_create(actor=user, source=source_for())
    with pytest.raises(PermissionDenied):
        services.article_revert(actor=user, slug="request-access", version=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slug": "Bad slug"}, "slug"),
        ({"slug": "search"}, "slug"),
        ({"category": "nowhere"}, "category"),
        ({"audiences": []}, "audiences"),
        ({"title_en": " "}, "title_en"),
        ({"related": ["no-such-article"]}, "related"),
        ({"pages": ["not a url name"]}, "pages"),
    ],
)
def test_validation(changes, field):
    with pytest.raises(ValidationError) as caught:
        services.article_create(actor=make_admin(), source=source_for(**changes))
    assert field in [error["field"] for error in caught.value.errors]


def test_duplicate_slug_refused():
    admin = make_admin()
    services.article_create(actor=admin, source=source_for())
    with pytest.raises(ValidationError):
        services.article_create(actor=admin, source=source_for())


def test_feedback_from_readers(shipped):
    services.feedback_create(visitor=None, slug="request-access", helpful=True, comment=" Labi ")
    item = Feedback.objects.get()
    assert item.comment == "Labi" and item.helpful and item.user is None
    with pytest.raises(NotFound):  # signed-in only article, visitor
        services.feedback_create(visitor=None, slug="upload-file", helpful=False)
    with pytest.raises(ValidationError):
        services.feedback_create(
            visitor=None, slug="request-access", helpful=False, comment="x" * 2001
        )


def test_feedback_is_rate_limited_per_client(shipped, monkeypatch):
    from dagr.core.errors import RateLimited

    monkeypatch.setattr(services, "FEEDBACK_PER_HOUR", 2)
    for _ in range(2):
        services.feedback_create(
            visitor=None, slug="request-access", helpful=True, client="10.0.0.1"
        )
    with pytest.raises(RateLimited):
        services.feedback_create(
            visitor=None, slug="request-access", helpful=True, client="10.0.0.1"
        )
    services.feedback_create(visitor=None, slug="request-access", helpful=True, client="10.0.0.2")
    assert Feedback.objects.count() == 3


def png_with_metadata() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author-name")
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(out, format="PNG", pnginfo=info)
    return out.getvalue() + b"<script>trailing payload</script>"


def test_image_is_reencoded_without_metadata():
    admin = make_admin()
    stored = services.image_upload(
        actor=admin, upload=SimpleUploadedFile("shot.png", png_with_metadata(), "image/png")
    )
    data = stored.file.read()
    assert b"secret-author-name" not in data and b"payload" not in data
    assert (stored.width, stored.height, stored.content_type) == (40, 20, "image/png")
    assert AdminEntry.objects.filter(action="knowledge.image.uploaded").exists()


@pytest.mark.parametrize(
    "payload",
    [b"GIF89a" + b"\0" * 100, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"not an image"],
)
def test_other_files_refused(payload):
    with pytest.raises(ValidationError):
        services.image_upload(
            actor=make_admin(), upload=SimpleUploadedFile("x.png", payload, "image/png")
        )


def test_image_size_limit(settings, monkeypatch):
    monkeypatch.setattr(services, "IMAGE_MAX_BYTES", 100)
    with pytest.raises(ValidationError, match="MB"):
        services.image_upload(
            actor=make_admin(), upload=SimpleUploadedFile("x.png", png_with_metadata())
        )


def test_article_for_page_and_topics(shipped):
    selectors.pages_map_forget()
    assert selectors.article_for_page("grants:request") == "request-access"
    assert selectors.article_for_page("uploads:dataset") is None  # signed-in only article
    assert selectors.article_for_page("uploads:dataset", make_user()) == "upload-file"
    assert selectors.article_for_page("portal:home") is None
    found = [a.slug for a in selectors.articles_for_topics(["identifiers", "schema"], None)]
    # dataset-identifiers shares both topics, define-dataset only "schema"
    assert found[:2] == ["dataset-identifiers", "define-dataset"]
    assert "upload-file" not in [a.slug for a in selectors.articles_for_topics(["uploads"], None)]
