from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import content
from .models import Article

AUDIENCE_LABELS = {
    "provider": _("data providers"),
    "recipient": _("data recipients"),
    "signatory": _("signatories"),
    "administrator": _("administrators"),
    "everyone": _("everyone"),
}


def _split(value: str) -> list[str]:
    return [item.strip() for item in (value or "").replace("\n", ",").split(",") if item.strip()]


class ArticleForm(forms.Form):
    slug = forms.SlugField(
        label=_("Address"), max_length=100, help_text=_("The end of /help/…/, e.g. request-access.")
    )
    category = forms.ChoiceField(label=_("Category"))
    audiences = forms.MultipleChoiceField(
        label=_("Audiences"),
        choices=list(AUDIENCE_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    visibility = forms.ChoiceField(label=_("Who may read it"), choices=Article.Visibility.choices)
    order = forms.IntegerField(label=_("Order in its category"), initial=100)
    title_lv = forms.CharField(label=_("Title in Latvian"), max_length=200)
    body_lv = forms.CharField(
        label=_("Text in Latvian (Markdown)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "lang": "lv", "spellcheck": "true"}),
    )
    title_en = forms.CharField(label=_("Title in English"), max_length=200)
    body_en = forms.CharField(
        label=_("Text in English (Markdown)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "lang": "en", "spellcheck": "true"}),
    )
    topics = forms.CharField(
        label=_("Topics"), required=False, help_text=_("Separated by commas, e.g. access, grants.")
    )
    pages = forms.CharField(
        label=_("Portal pages it explains"),
        required=False,
        help_text=_("URL names separated by commas, e.g. grants:request_create."),
    )
    related = forms.CharField(
        label=_("Related articles"), required=False, help_text=_("Addresses separated by commas.")
    )
    note = forms.CharField(label=_("Note on this version"), required=False, max_length=255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            (category.slug, category.title_lv + " / " + category.title_en)
            for category in content.categories()
        ]

    @staticmethod
    def initial_from(article: Article) -> dict[str, Any]:
        return {
            "slug": article.slug,
            "category": article.category,
            "audiences": article.audiences,
            "visibility": article.visibility,
            "order": article.order,
            "title_lv": article.title_lv,
            "body_lv": article.body_lv,
            "title_en": article.title_en,
            "body_en": article.body_en,
            "topics": ", ".join(article.topics),
            "pages": ", ".join(article.pages),
            "related": ", ".join(article.related),
        }

    def source(self) -> content.ArticleSource:
        data = self.cleaned_data
        return content.ArticleSource(
            slug=data["slug"],
            category=data["category"],
            audiences=list(data["audiences"]),
            visibility=data["visibility"],
            order=data["order"],
            pages=_split(data.get("pages", "")),
            topics=_split(data.get("topics", "")),
            related=_split(data.get("related", "")),
            title_lv=data["title_lv"].strip(),
            title_en=data["title_en"].strip(),
            body_lv=data.get("body_lv", ""),
            body_en=data.get("body_en", ""),
        )


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        label=_("Was this article helpful?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("What was missing or unclear? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ImageForm(forms.Form):
    file = forms.FileField(label=_("Image (PNG, JPEG or WebP)"))
