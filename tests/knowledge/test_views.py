"""Portal pages of the knowledge base: public pages, signed-in-only articles, the "Help for this
page" link, feedback, and the administrators' editor (access, preview, save, versions, diff,
revert, feedback list, images)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dagr.knowledge import selectors
from dagr.knowledge.models import Article, Feedback
from tests.factories import make_admin, make_institution, make_user

pytestmark = pytest.mark.django_db

FORM = {
    "slug": "kb-view", "category": "recipients", "audiences": ["recipient", "everyone"],
    "visibility": "public", "order": "3", "title_lv": "Skata raksts", "title_en": "View article",
    "body_lv": "## Sākums\n\nTeksts <script>alert(1)</script>", "body_en": "Text",
    "topics": "access, grants", "pages": "grants:list", "related": "request-access", "note": "",
}  # fmt: skip


def admin_urls() -> list[tuple[str, str]]:
    slug = {"slug": "request-access"}
    return [
        ("get", reverse("knowledge:manage")),
        ("get", reverse("knowledge:create")),
        ("post", reverse("knowledge:create")),
        ("post", reverse("knowledge:preview")),
        ("get", reverse("knowledge:feedback")),
        ("get", reverse("knowledge:images")),
        ("get", reverse("knowledge:edit", kwargs=slug)),
        ("post", reverse("knowledge:edit", kwargs=slug)),
        ("get", reverse("knowledge:versions", kwargs=slug)),
        ("get", reverse("knowledge:diff", kwargs=slug)),
        ("post", reverse("knowledge:revert", kwargs={**slug, "version": 1})),
    ]


def test_editor_pages_refuse_visitors_and_non_administrators(client, shipped):
    provider = make_user(institution=make_institution(), roles=("provider",))
    for method, url in admin_urls():
        client.logout()
        answer = getattr(client, method)(url)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"], url
        client.force_login(provider)
        assert getattr(client, method)(url).status_code == 403, url
    assert Article.objects.get(slug="request-access").version == 1


def test_public_pages(client, shipped):
    page = client.get(reverse("knowledge:index"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Piekļuves atļaujas pieprasīšana" in body and "Datu saņēmējiem" in body
    assert "Datnes augšupielāde" not in body  # signed-in only
    article = client.get(reverse("knowledge:article", kwargs={"slug": "request-access"}))
    assert article.status_code == 200
    text = article.content.decode()
    assert "<h1>Piekļuves atļaujas pieprasīšana</h1>" in text
    assert "<strong>Tiesiskais pamats</strong>" in text
    assert "Tehniskā savienojuma reģistrēšana" in text  # related
    found = client.get(reverse("knowledge:search"), {"q": "piekļuves atļauju"}).content.decode()
    assert "<mark>Piekļuves</mark> <mark>atļaujas</mark> pieprasīšana" in found
    none = client.get(reverse("knowledge:search"), {"q": "zilonis"}).content.decode()
    assert "Nekas netika atrasts" in none


def test_english(client, shipped):
    client.cookies["django_language"] = "en"
    body = client.get(
        reverse("knowledge:article", kwargs={"slug": "request-access"}),
        headers={"accept-language": "en"},
    ).content.decode()
    assert "<h1>Requesting an access grant</h1>" in body and "Was this article helpful?" in body
    found = client.get(
        reverse("knowledge:search"), {"q": "access grants"}, headers={"accept-language": "en"}
    ).content.decode()
    assert "Requesting an <mark>access</mark> <mark>grant</mark>" in found


def test_signed_in_only_article_is_404_for_visitors(client, shipped):
    url = reverse("knowledge:article", kwargs={"slug": "upload-file"})
    assert client.get(url).status_code == 404
    assert client.get(reverse("knowledge:article", kwargs={"slug": "no-such"})).status_code == 404
    client.force_login(make_user())
    assert client.get(url).status_code == 200


def test_help_for_this_page_link(client, shipped):
    selectors.pages_map_forget()
    client.force_login(make_user())
    body = client.get(reverse("grants:list")).content.decode()
    link = reverse("knowledge:article", kwargs={"slug": "request-access"})
    assert f'<p class="page-help"><a href="{link}">Palīdzība par šo lapu</a>' in body
    assert 'class="page-help"' not in client.get(reverse("portal:home")).content.decode()


def test_feedback(client, shipped):
    url = reverse("knowledge:feedback_create", kwargs={"slug": "request-access"})
    answer = client.post(url, {"helpful": "no", "comment": "Trūkst piemēra"})
    assert answer.status_code == 302
    item = Feedback.objects.get()
    assert not item.helpful and item.comment == "Trūkst piemēra"
    assert client.post(url, {"helpful": "maybe"}).status_code == 302
    assert Feedback.objects.count() == 1
    hidden = reverse("knowledge:feedback_create", kwargs={"slug": "upload-file"})
    assert client.post(hidden, {"helpful": "yes"}).status_code == 404
    client.force_login(make_admin())
    assert "Trūkst piemēra" in client.get(reverse("knowledge:feedback")).content.decode()


def test_editor_preview_save_versions_diff_revert(client, shipped):
    client.force_login(make_admin())
    assert client.get(reverse("knowledge:create")).status_code == 200
    preview = client.post(reverse("knowledge:preview"), FORM)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "<h2>Sākums</h2>" in html and "<script>alert" not in html
    assert "sandbox" in preview["Content-Security-Policy"]
    assert "script-src" not in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    created = client.post(reverse("knowledge:create"), FORM)
    assert created.status_code == 302
    article = Article.objects.get(slug="kb-view")
    assert article.topics == ["access", "grants"] and article.related == ["request-access"]
    edit_url = reverse("knowledge:edit", kwargs={"slug": "kb-view"})
    page = client.get(edit_url).content.decode()
    assert 'formtarget="preview-frame"' in page and "knowledge/editor.js" in page
    assert client.post(edit_url, {**FORM, "body_lv": "Otrais teksts"}).status_code == 302
    bad = client.post(edit_url, {**FORM, "related": "nav-tada"})
    assert bad.status_code == 422 and "nav-tada" in bad.content.decode()
    versions = client.get(reverse("knowledge:versions", kwargs={"slug": "kb-view"}))
    assert versions.status_code == 200
    diff = client.get(reverse("knowledge:diff", kwargs={"slug": "kb-view"}), {"a": 1, "b": 2})
    assert diff.status_code == 200 and "Otrais" in diff.content.decode()
    assert (
        client.get(reverse("knowledge:diff", kwargs={"slug": "kb-view"}), {"a": 9}).status_code
        == 404
    )
    client.post(reverse("knowledge:revert", kwargs={"slug": "kb-view", "version": 1}))
    article.refresh_from_db()
    assert article.version == 3 and "Sākums" in article.body_lv


def test_image_upload_and_serving(client):
    client.force_login(make_admin())
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 255)).save(out, format="JPEG")
    answer = client.post(
        reverse("knowledge:images"), {"file": SimpleUploadedFile("blue.jpg", out.getvalue())}
    )
    assert answer.status_code == 302
    page = client.get(reverse("knowledge:images")).content.decode()
    assert "blue" in page and "8 × 8" in page
    from dagr.knowledge.models import ArticleImage

    stored = ArticleImage.objects.get()
    client.logout()
    served = client.get(reverse("knowledge:image", kwargs={"pk": stored.pk}))
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    client.force_login(make_admin())
    refused = client.post(
        reverse("knowledge:images"), {"file": SimpleUploadedFile("x.png", b"<svg/>")}
    )
    assert refused.status_code == 200 and "PNG, JPEG vai WebP" in refused.content.decode()
