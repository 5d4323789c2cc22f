"""Portal pages of the knowledge base: /help/ (index, search, articles, feedback; public, with
"signed-in only" articles 404 for visitors) and its administration (/help/manage/…).

The editor's preview works as the notification template editor's: the form's "Preview" button
posts to ``…/manage/preview/`` with ``formtarget`` the preview frame, so it works without
JavaScript; ``knowledge/editor.js`` only presses it a moment after each edit (live preview).
The preview answer is rendered by the same ``rendering.render`` (nh3) as the article page and
served under its own CSP (no script at all) and framable by the portal only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.csp import CSP
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from dagr.core.errors import NotFound, RateLimited, ValidationError
from dagr.core.ratelimit import client_ip
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, public, requires

from . import content, rendering, selectors, services
from .forms import AUDIENCE_LABELS, ArticleForm, FeedbackForm, ImageForm
from .models import ArticleImage


def _language() -> str:
    return "en" if (get_language() or "lv").startswith("en") else "lv"


@public
def index(request: HttpRequest) -> HttpResponse:
    audience = request.GET.get("audience") or ""
    groups = selectors.index_by_category(user=request.user, audience=audience)
    return render(
        request,
        "knowledge/index.html",
        {
            "groups": groups,
            "audience": audience if audience in AUDIENCE_LABELS else "",
            "audiences": list(AUDIENCE_LABELS.items()),
            "language": _language(),
        },
    )


@public
def search(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()[:200]
    hits = selectors.search(q, language=_language(), user=request.user) if q else []
    return render(request, "knowledge/search.html", {"q": q, "hits": hits})


@public
def article(request: HttpRequest, slug: str) -> HttpResponse:
    found = selectors.article_get(slug=slug, user=request.user)
    language = _language()
    return render(
        request,
        "knowledge/article.html",
        {
            "article": found,
            "title": found.title(language),
            "body_html": rendering.render(found.body(language)),
            "related": selectors.related_articles(found, user=request.user),
            "category": next((c for c in content.categories() if c.slug == found.category), None),
            "audiences": [AUDIENCE_LABELS[a] for a in found.audiences if a in AUDIENCE_LABELS],
            "language": language,
            "feedback_form": FeedbackForm(),
            "thanks": request.GET.get("thanks") == "1",
        },
    )


@public
@require_POST
def feedback(request: HttpRequest, slug: str) -> HttpResponse:
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose “Yes” or “No”."))
        return redirect("knowledge:article", slug=slug)
    try:
        services.feedback_create(
            visitor=request.user,
            slug=slug,
            helpful=form.cleaned_data["helpful"],
            comment=form.cleaned_data.get("comment", ""),
            language=_language(),
            client=client_ip(request),
        )
    except (ValidationError, RateLimited) as exc:
        messages.error(request, str(exc.message))
        return redirect("knowledge:article", slug=slug)
    messages.success(request, _("Thank you for your feedback."))
    return redirect("knowledge:article", slug=slug)


@public
def image(request: HttpRequest, pk: int) -> HttpResponse:
    stored = ArticleImage.objects.filter(pk=pk).first()
    if stored is None:
        raise NotFound
    with stored.file.open("rb") as handle:  # at most IMAGE_MAX_BYTES (2 MB)
        response = HttpResponse(handle.read(), content_type=stored.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- administration --------------------------------------------------------------------------


@requires(rules.can_manage_help_articles)
def manage_list(request: ActorRequest) -> HttpResponse:
    articles = selectors.articles_for_admin()
    return render(request, "knowledge/manage_list.html", {"articles": articles})


def _editor(
    request: ActorRequest, form: ArticleForm, *, article: Any = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "knowledge/edit.html",
        {
            "form": form,
            "article": article,
            "feedback": selectors.feedback_summary(article) if article is not None else None,
        },
        status=status,
    )


def _form_errors(form: ArticleForm, exc: ValidationError) -> None:
    for error in exc.errors or [{"message": exc.message}]:
        name = error.get("field")
        form.add_error(name if name in form.fields else None, str(error["message"]))


@requires(rules.can_manage_help_articles)
def article_create(request: ActorRequest) -> HttpResponse:
    if request.method != "POST":
        return _editor(request, ArticleForm(initial={"visibility": "public", "order": 100}))
    form = ArticleForm(request.POST)
    if form.is_valid():
        try:
            created = services.article_create(
                actor=request.user, source=form.source(), note=form.cleaned_data.get("note", "")
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The article was created."))
            return redirect("knowledge:edit", slug=created.slug)
    return _editor(request, form, status=422)


@requires(rules.can_manage_help_articles)
def article_edit(request: ActorRequest, slug: str) -> HttpResponse:
    current = selectors.article_for_edit(slug=slug)
    if request.method != "POST":
        return _editor(
            request, ArticleForm(initial=ArticleForm.initial_from(current)), article=current
        )
    form = ArticleForm(request.POST)
    if form.is_valid():
        try:
            saved = services.article_update(
                actor=request.user,
                slug=slug,
                source=form.source(),
                note=form.cleaned_data.get("note", ""),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Version %(version)s saved.") % {"version": saved.version})
            return redirect("knowledge:edit", slug=saved.slug)
    return _editor(request, form, article=current, status=422)


PREVIEW_CSP: Any = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "https:"],
    "frame-ancestors": [CSP.SELF],
    "sandbox": True,  # no script, no forms, an opaque origin
}


@requires(rules.can_manage_help_articles)
@require_POST
@xframe_options_sameorigin
@csp_override(PREVIEW_CSP)
def preview(request: ActorRequest) -> HttpResponse:
    """The article as readers will see it, in both languages (the same renderer and sanitiser
    as the article page)."""
    parts = []
    for language, label in (("lv", _("Latvian")), ("en", _("English"))):
        title = request.POST.get(f"title_{language}", "")[:200]
        body = rendering.render(request.POST.get(f"body_{language}", "")[:200_000])
        parts.append(
            f'<section lang="{language}"><p class="preview-label">{escape(label)}</p>'
            f'<h1>{escape(title)}</h1><div class="article-body">{body}</div></section>'
        )
    return render(request, "knowledge/preview.html", {"parts": "<hr>".join(parts)})


@requires(rules.can_manage_help_articles)
def versions(request: ActorRequest, slug: str) -> HttpResponse:
    current = selectors.article_for_edit(slug=slug)
    page = Paginator(selectors.article_versions(current), 50).get_page(request.GET.get("page"))
    return render(request, "knowledge/versions.html", {"article": current, "page": page})


@requires(rules.can_manage_help_articles)
def diff(request: ActorRequest, slug: str) -> HttpResponse:
    current = selectors.article_for_edit(slug=slug)
    try:
        newer_number = int(request.GET.get("b") or current.version)
        older_number = int(request.GET.get("a") or max(1, newer_number - 1))
    except ValueError as exc:
        raise NotFound from exc
    older = selectors.article_version(current, older_number)
    newer = selectors.article_version(current, newer_number)
    return render(
        request,
        "knowledge/diff.html",
        {
            "article": current,
            "older": older,
            "newer": newer,
            "tables": selectors.versions_diff(older, newer),
        },
    )


@requires(rules.can_manage_help_articles)
@require_POST
def revert(request: ActorRequest, slug: str, version: int) -> HttpResponse:
    saved = services.article_revert(actor=request.user, slug=slug, version=version)
    messages.success(
        request,
        _("Version %(old)s restored as version %(new)s.") % {"old": version, "new": saved.version},
    )
    return redirect("knowledge:versions", slug=saved.slug)


@requires(rules.can_manage_help_articles)
def feedback_list(request: ActorRequest) -> HttpResponse:
    page = Paginator(selectors.feedback_list(), 50).get_page(request.GET.get("page"))
    return render(request, "knowledge/feedback_list.html", {"page": page})


@requires(rules.can_manage_help_articles)
def images(request: ActorRequest) -> HttpResponse:
    form = ImageForm()
    if request.method == "POST":
        form = ImageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                stored = services.image_upload(actor=request.user, upload=form.cleaned_data["file"])
            except ValidationError as exc:
                form.add_error("file", str(exc.message))
            else:
                messages.success(
                    request,
                    _("Image uploaded. Write it in an article as: %(markdown)s")
                    % {"markdown": f"![…](/help/images/{stored.pk}/)"},
                )
                return redirect("knowledge:images")
    page = Paginator(selectors.images(), 50).get_page(request.GET.get("page"))
    return render(request, "knowledge/images.html", {"form": form, "page": page})
