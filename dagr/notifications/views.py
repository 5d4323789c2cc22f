"""Portal pages of notifications: the inbox and e-mail preferences (every signed-in user, own
only), the template editor and newsletters (administrators), and the signed unsubscribe link
(no login).

The editor's preview: the form posts to ``…/preview/`` with ``target`` the preview frame, so the
"Preview" button works without JavaScript; ``notifications/preview.js`` only re-submits it a
moment after each edit (live preview). The preview answer is the e-mail document itself, served
with its own CSP (no script at all, inline style attributes allowed — they are the inlined CSS)
and framable by the portal only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.csp import CSP
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dagr.accounts.models import Institution, Membership
from dagr.catalog.models import Dataset
from dagr.core.errors import ValidationError
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, public, requires

from . import composing, rendering, selectors, services
from .models import Newsletter
from .registry import BY_KEY, KINDS, absolute_url

PAGE_SIZE = 25
LANGUAGE_NAMES = {"lv": gettext_lazy("Latvian"), "en": gettext_lazy("English")}

# --- inbox ---------------------------------------------------------------------------------------


@authenticated
def inbox(request: ActorRequest) -> HttpResponse:
    page = Paginator(selectors.inbox(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {kind.key: kind.label for kind in KINDS}
    for item in page:
        item.kind_label = labels.get(item.kind, item.kind)  # type: ignore[attr-defined]
    return render(request, "notifications/inbox.html", {"page": page})


@authenticated
@require_POST
def mark_read(request: ActorRequest, pk: int) -> HttpResponse:
    services.notification_mark_read(user=request.user, pk=pk)
    return redirect("notifications:inbox")


@authenticated
@require_POST
def mark_all_read(request: ActorRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
    return redirect("notifications:inbox")


@authenticated
def preferences(request: ActorRequest) -> HttpResponse:
    if request.method == "POST":
        services.preferences_set(user=request.user, email_on=set(request.POST.getlist("email")))
        messages.success(request, _("Your notification settings were saved."))
        return redirect("notifications:preferences")
    return render(
        request,
        "notifications/preferences.html",
        {"rows": selectors.preferences(request.user)},
    )


@public
@csrf_exempt  # RFC 8058 one-click: the mail client POSTs without a session; the token is the key
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = composing.unsubscribe_read(token)
    if found is None:
        raise Http404
    user_id, kind = found
    label = (
        _("newsletters")
        if kind == composing.NEWSLETTER_KIND
        else BY_KEY[kind].label
        if kind in BY_KEY
        else kind
    )
    if request.method == "POST":
        done = services.unsubscribe(user_id=user_id, kind=kind)
        if not done:
            raise Http404
        return render(request, "notifications/unsubscribe.html", {"done": True, "label": label})
    return render(request, "notifications/unsubscribe.html", {"done": False, "label": label})


# --- templates (administrators) ----------------------------------------------------------------


class TemplateForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=255)
    html = forms.CharField(
        label=gettext_lazy("HTML body"), widget=forms.Textarea(attrs={"rows": 14})
    )
    text = forms.CharField(
        label=gettext_lazy("Text body"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy("Leave empty to derive it from the HTML body."),
    )
    note = forms.CharField(label=gettext_lazy("Note on this version"), required=False)

    def source(self) -> composing.Source:
        data = self.cleaned_data
        return composing.Source(data["subject"], data["html"], data.get("text") or "")


def _kind_or_404(kind: str, language: str) -> Any:
    if kind not in BY_KEY or language not in LANGUAGE_NAMES:
        raise Http404
    return BY_KEY[kind]


@requires(rules.can_manage_notification_templates)
def template_list(request: ActorRequest) -> HttpResponse:
    rows = []
    for kind in KINDS:
        versions = {
            language: selectors.template_versions(kind.key, language).first()
            for language in LANGUAGE_NAMES
        }
        rows.append({"kind": kind, "versions": versions})
    return render(
        request, "notifications/template_list.html", {"rows": rows, "languages": LANGUAGE_NAMES}
    )


@requires(rules.can_manage_notification_templates)
def template_edit(request: ActorRequest, kind: str, language: str) -> HttpResponse:
    spec = _kind_or_404(kind, language)
    current = composing.current_source(kind, language)
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            action = request.POST.get("action", "save")
            try:
                if action == "test":
                    services.template_send_test(
                        actor=request.user, kind=kind, language=language, source=form.source()
                    )
                    messages.success(
                        request,
                        _("A test message was queued to %(email)s.")
                        % {"email": request.user.email},
                    )
                else:
                    template = services.template_save(
                        actor=request.user,
                        kind=kind,
                        language=language,
                        source=form.source(),
                        note=form.cleaned_data.get("note") or "",
                    )
                    messages.success(
                        request, _("Version %(version)s saved.") % {"version": template.version}
                    )
                    return redirect("notifications:template_edit", kind=kind, language=language)
            except ValidationError as exc:
                for error in exc.errors or [{"message": exc.message}]:
                    form.add_error(None, str(error["message"]))
    else:
        form = TemplateForm(
            initial={"subject": current.subject, "html": current.html, "text": current.text}
        )
    return render(
        request,
        "notifications/template_edit.html",
        {
            "kind": spec,
            "language": language,
            "language_name": LANGUAGE_NAMES[language],
            "form": form,
            "variables": [
                (name, description, sample)
                for name, (description, sample) in spec.all_variables.items()
            ],
            "versions": selectors.template_versions(kind, language)[:20],
        },
    )


PREVIEW_CSP: Any = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],  # the inlined CSS of the e-mail: style attributes only
    "img-src": ["https:", "data:"],
    "frame-ancestors": [CSP.SELF],
    "sandbox": True,  # no script, no forms, an opaque origin
}


def _preview_response(request: HttpRequest, message: composing.Message) -> HttpResponse:
    text = escape(message.text)
    document = message.html.replace(
        "</body>",
        '<hr><pre style="white-space: pre-wrap; font-family: monospace">'
        f"{escape(_('Subject'))}: {escape(message.subject)}\n\n{text}</pre></body>",
    )
    return HttpResponse(document)  # the sanitised e-mail, shown under PREVIEW_CSP


@requires(rules.can_manage_notification_templates)
@require_POST
@xframe_options_sameorigin
@csp_override(PREVIEW_CSP)
def template_preview(request: ActorRequest, kind: str, language: str) -> HttpResponse:
    spec = _kind_or_404(kind, language)
    form = TemplateForm(request.POST)
    if not form.is_valid():
        return HttpResponse(escape(_("Fill in the subject and the HTML body.")), status=422)
    source = form.source()
    try:
        composing.validate_source(kind, source)
        message = composing.compose(kind, language, spec.sample_context(), source=source)
    except rendering.TemplateInvalid as exc:
        body = "".join(f"<li>{escape(error)}</li>" for error in exc.errors)
        return HttpResponse(f"<ul>{body}</ul>", status=422)
    except Exception as exc:
        return HttpResponse(escape(str(exc)), status=422)
    return _preview_response(request, message)


@requires(rules.can_manage_notification_templates)
def template_diff(request: ActorRequest, kind: str, language: str, version: int) -> HttpResponse:
    spec = _kind_or_404(kind, language)
    newer = selectors.template_version(kind, language, version)
    older = selectors.template_versions(kind, language).filter(version__lt=version).first()
    diff = selectors.version_diff(older, newer) if older else ""
    return render(
        request,
        "notifications/template_diff.html",
        {
            "kind": spec,
            "language": language,
            "newer": newer,
            "older": older,
            "diff": mark_safe(diff),  # noqa: S308 — difflib.HtmlDiff escapes the compared text
        },
    )


@requires(rules.can_manage_notification_templates)
@require_POST
def template_restore(request: ActorRequest, kind: str, language: str, version: int) -> HttpResponse:
    _kind_or_404(kind, language)
    template = services.template_restore(
        actor=request.user, kind=kind, language=language, version=version
    )
    messages.success(
        request,
        _("Version %(old)s restored as version %(new)s.")
        % {"old": version, "new": template.version},
    )
    return redirect("notifications:template_edit", kind=kind, language=language)


# --- newsletters (administrators) --------------------------------------------------------------


def _group_values() -> list[tuple[str, str]]:
    roles = [("role:admin", _("administrators"))] + [
        (f"role:{value}", str(label)) for value, label in Membership.Role.choices
    ]
    kinds = [(f"institution_kind:{v}", str(label)) for v, label in Institution.Kind.choices]
    statuses = [(f"providers_by_status:{v}", str(label)) for v, label in Dataset.Status.choices]
    datasets = [
        (f"dataset_grants:{code}", f"{code} — {title}")
        for code, title in Dataset.objects.order_by("code").values_list("code", "title_lv")[:500]
    ]
    return [
        ("all:", str(Newsletter.Group.ALL.label)),
        *[(v, f"{Newsletter.Group.ROLE.label}: {label}") for v, label in roles],
        *[(v, f"{Newsletter.Group.INSTITUTION_KIND.label}: {label}") for v, label in kinds],
        *[(v, f"{Newsletter.Group.DATASET_GRANTS.label}: {label}") for v, label in datasets],
        *[(v, f"{Newsletter.Group.PROVIDERS_BY_STATUS.label}: {label}") for v, label in statuses],
    ]


class NewsletterForm(forms.Form):
    recipients = forms.ChoiceField(label=gettext_lazy("Recipients"))
    mandatory = forms.BooleanField(
        label=gettext_lazy("Mandatory service message (no unsubscribe link)"), required=False
    )
    subject_lv = forms.CharField(label=gettext_lazy("Subject (Latvian)"), max_length=255)
    html_lv = forms.CharField(
        label=gettext_lazy("HTML body (Latvian)"), widget=forms.Textarea(attrs={"rows": 10})
    )
    text_lv = forms.CharField(
        label=gettext_lazy("Text body (Latvian)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    subject_en = forms.CharField(label=gettext_lazy("Subject (English)"), max_length=255)
    html_en = forms.CharField(
        label=gettext_lazy("HTML body (English)"), widget=forms.Textarea(attrs={"rows": 10})
    )
    text_en = forms.CharField(
        label=gettext_lazy("Text body (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].choices = _group_values()  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        group, _sep, value = data.pop("recipients").partition(":")
        data["group"], data["group_value"] = group, value
        for language in ("lv", "en"):
            data[f"text_{language}"] = data.get(f"text_{language}") or ""
        return data


def _initial(newsletter: Newsletter) -> dict[str, Any]:
    initial = {name: getattr(newsletter, name) for name in services.NEWSLETTER_FIELDS}
    initial["recipients"] = f"{newsletter.group}:{newsletter.group_value}"
    return initial


@requires(rules.can_manage_newsletters)
def newsletter_list(request: ActorRequest) -> HttpResponse:
    page = Paginator(Newsletter.objects.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    for newsletter in page:
        newsletter.progress = selectors.newsletter_progress(newsletter)  # type: ignore[attr-defined]
    return render(request, "notifications/newsletter_list.html", {"page": page})


@requires(rules.can_manage_newsletters)
def newsletter_edit(request: ActorRequest, pk: int | None = None) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk) if pk else None
    if newsletter is not None and newsletter.status != Newsletter.Status.DRAFT:
        return redirect("notifications:newsletter", pk=newsletter.pk)
    if request.method == "POST":
        form = NewsletterForm(request.POST)
        if form.is_valid() and request.POST.get("action") == "test":
            try:
                services.newsletter_send_test(actor=request.user, data=form.data_for_service())
            except ValidationError as exc:
                for error in exc.errors or [{"message": exc.message}]:
                    form.add_error(None, str(error["message"]))
            else:
                messages.success(
                    request,
                    _("A test message was queued to %(email)s.") % {"email": request.user.email},
                )
        elif form.is_valid():
            try:
                saved = services.newsletter_save(
                    actor=request.user, data=form.data_for_service(), newsletter=newsletter
                )
            except ValidationError as exc:
                for error in exc.errors or [{"message": exc.message}]:
                    form.add_error(None, str(error["message"]))
            else:
                messages.success(request, _("The newsletter was saved."))
                return redirect("notifications:newsletter", pk=saved.pk)
    else:
        form = NewsletterForm(initial=_initial(newsletter) if newsletter else None)
    return render(
        request, "notifications/newsletter_edit.html", {"form": form, "newsletter": newsletter}
    )


@requires(rules.can_manage_newsletters)
@require_POST
@xframe_options_sameorigin
@csp_override(PREVIEW_CSP)
def newsletter_preview(request: ActorRequest) -> HttpResponse:
    """Both languages of the (unsaved) newsletter, rendered for the administrator."""
    form = NewsletterForm(request.POST)
    if not form.is_valid():
        return HttpResponse(escape(_("Fill in the subject and the HTML body.")), status=422)
    data = form.data_for_service()
    documents = []
    for language in ("lv", "en"):
        source = composing.Source(
            data[f"subject_{language}"], data[f"html_{language}"], data[f"text_{language}"]
        )
        try:
            composing.validate_source(composing.NEWSLETTER_KIND, source)
        except rendering.TemplateInvalid as exc:
            body = "".join(f"<li>{escape(error)}</li>" for error in exc.errors)
            return HttpResponse(f"<ul>{body}</ul>", status=422)
        context = {
            "recipient_name": request.user.full_name or request.user.email,
            "site_url": absolute_url("/"),
        }
        message = composing.compose(
            composing.NEWSLETTER_KIND, language, context, source=source, user_id=request.user.pk,
            optional=not data.get("mandatory"),
        )  # fmt: skip
        documents.append(_preview_response(request, message).content.decode())
    return HttpResponse("<hr>".join(documents))


@requires(rules.can_manage_newsletters)
def newsletter_detail(request: ActorRequest, pk: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=pk)
    if request.method == "POST" and request.POST.get("action") == "send":
        services.newsletter_queue(actor=request.user, newsletter=newsletter)
        messages.success(request, _("The newsletter is being sent by the background worker."))
        return redirect("notifications:newsletter", pk=pk)
    context: dict[str, Any] = {
        "newsletter": newsletter,
        "progress": selectors.newsletter_progress(newsletter),
        "sending": newsletter.status in {Newsletter.Status.QUEUED, Newsletter.Status.SENDING},
    }
    if newsletter.status == Newsletter.Status.DRAFT:
        recipients = selectors.newsletter_recipients(newsletter.group, newsletter.group_value)
        if not newsletter.mandatory:
            recipients = recipients.exclude(
                notification_prefs__kind=composing.NEWSLETTER_KIND,
                notification_prefs__email=False,
            )
        context["recipients"] = Paginator(recipients, 50).get_page(request.GET.get("page"))
    else:
        context["deliveries"] = Paginator(
            newsletter.deliveries.order_by("id").only(
                "to", "status", "attempts", "last_answer", "sent_at", "language"
            ),
            50,
        ).get_page(request.GET.get("page"))
    return render(request, "notifications/newsletter_detail.html", context)


@requires(rules.can_manage_newsletters)
def newsletter_progress(request: ActorRequest, pk: int) -> HttpResponse:
    """The progress fragment the page's script reloads while sending (and a full page
    without JavaScript: the same numbers)."""
    newsletter = get_object_or_404(Newsletter, pk=pk)
    return render(
        request,
        "notifications/_newsletter_progress.html",
        {"newsletter": newsletter, "progress": selectors.newsletter_progress(newsletter)},
    )
