"""From a kind (or a newsletter), a language and a context to the three parts of an e-mail:
subject, full HTML (layout, sanitised, CSS inlined) and text. Used by the dispatch, the
newsletter queueing, the editor's preview and "send me a test" alike, so the preview is exactly
what is sent."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import rendering
from .defaults import DEFAULTS
from .models import Template
from .registry import BY_KEY, absolute_url

UNSUBSCRIBE_SALT = "dagr.notifications.unsubscribe"
NEWSLETTER_KIND = "newsletter"
NEWSLETTER_VARIABLES = {"recipient_name", "site_url"}


@dataclass(frozen=True)
class Source:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Message:
    subject: str
    html: str
    text: str
    headers: dict[str, str]


def current_source(kind: str, language: str) -> Source:
    """The newest saved version, else the shipped default."""
    saved = Template.objects.filter(kind=kind, language=language).order_by("-version").first()
    if saved is not None:
        return Source(saved.subject, saved.html, saved.text)
    subject, body = DEFAULTS[kind][language]
    return Source(subject, body, "")


def allowed_variables(kind: str) -> set[str]:
    if kind == NEWSLETTER_KIND:
        return set(NEWSLETTER_VARIABLES)
    return set(BY_KEY[kind].all_variables)


def validate_source(kind: str, source: Source) -> None:
    """Raise ``rendering.TemplateInvalid`` with every problem of the three parts."""
    allowed = allowed_variables(kind)
    errors: list[str] = []
    for part, what in (
        (source.subject, _("Subject")),
        (source.html, _("HTML body")),
        (source.text, _("Text body")),
    ):
        try:
            rendering.validate(part, allowed, what=str(what))
        except rendering.TemplateInvalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise rendering.TemplateInvalid(errors)


def unsubscribe_token(user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or "u" not in data or "k" not in data:
        return None
    return int(data["u"]), str(data["k"])


def unsubscribe_url(user_id: int, kind: str) -> str:
    return absolute_url(
        reverse("notifications:unsubscribe", args=[unsubscribe_token(user_id, kind)])
    )


def compose(
    kind: str,
    language: str,
    context: dict[str, Any],
    *,
    source: Source | None = None,
    user_id: int | None = None,
    optional: bool = True,
) -> Message:
    """Render one message. ``optional``: the recipient may turn this mail off, so it carries an
    unsubscribe link and the List-Unsubscribe headers (RFC 2369, one-click RFC 8058)."""
    source = source or current_source(kind, language)
    with translation.override(language):
        subject = " ".join(rendering.render_text(source.subject, context).split())[:255]
        body = rendering.render_html_fragment(source.html, context)
        text = (
            rendering.render_text(source.text, context)
            if source.text.strip()
            else rendering.html_to_text(body)
        )
        # RFC 3834: machine-sent, so out-of-office replies are not sent back
        headers: dict[str, str] = {"Auto-Submitted": "auto-generated"}
        footer_html = html.escape(_("DAGR — data distribution and management platform"))
        footer_text = _("DAGR — data distribution and management platform")
        if optional and user_id is not None:
            link = unsubscribe_url(user_id, kind)
            label = (
                _("Unsubscribe from newsletters")
                if kind == NEWSLETTER_KIND
                else _("Stop these e-mails")
            )
            footer_html += f' · <a href="{html.escape(link)}">{html.escape(label)}</a>'
            footer_text += f"\n{label}: {link}"
            headers["List-Unsubscribe"] = f"<{link}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        elif user_id is not None and kind != NEWSLETTER_KIND:
            prefs = absolute_url(reverse("notifications:preferences"))
            label = _("Notification settings")
            footer_html += f' · <a href="{html.escape(prefs)}">{html.escape(label)}</a>'
            footer_text += f"\n{label}: {prefs}"
        full_html = rendering.wrap(body, lang=language, title=subject, footer_html=footer_html)
    return Message(subject, full_html, text.rstrip() + "\n\n-- \n" + footer_text + "\n", headers)
