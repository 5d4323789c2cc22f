"""The webhook page of a record set (recipient representatives of its institution): set or
change the endpoint URL, see the secret once, rotate it, pause, resume or delete the webhook,
and follow the deliveries (their errors described by ``delivery_errors``).

Post/Redirect/Get: every successful POST redirects to the page. A new secret (create, rotate)
is kept encrypted in the session under a one-time key and shown by the next GET only, which
removes it (``Cache-Control: no-store``); so a reload neither re-submits the form nor shows the
secret again. The secret never goes into a message, a log line or a URL."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dagr.core import crypto
from dagr.core.errors import DomainError
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, requires

from . import deliveries, delivery_errors, selectors
from .webhooks import MAX_URL_LENGTH

RECENT_DELIVERIES = 50


class WebhookUrlForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Endpoint URL"),
        max_length=MAX_URL_LENGTH,
        help_text=gettext_lazy(
            "An https:// address of your system that accepts signed POST requests."
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "url"}),
    )


def _act(request: ActorRequest, pk: int, form: WebhookUrlForm) -> tuple[str | None, str]:
    """Run the posted action; returns (secret to show once, success message)."""
    actor, action = request.user, request.POST.get("action", "")
    if action == "save":
        if not form.is_valid():
            return None, ""
        subscription = deliveries.subscription_get(actor=actor, record_set_id=pk)
        url = form.cleaned_data["url"]
        if subscription is None:
            _created, secret = deliveries.subscription_create(
                actor=actor, record_set_id=pk, url=url
            )
            return secret, _("The webhook was created.")
        deliveries.subscription_update_url(actor=actor, subscription=subscription, url=url)
        return None, _("The endpoint URL was changed.")
    subscription = deliveries.subscription_require(actor=actor, record_set_id=pk)
    if action == "rotate":
        secret = deliveries.subscription_rotate_secret(actor=actor, subscription=subscription)
        return secret, _("The secret was replaced.")
    if action == "pause":
        deliveries.subscription_pause(actor=actor, subscription=subscription)
        return None, _("The webhook was paused.")
    if action == "resume":
        deliveries.subscription_resume(actor=actor, subscription=subscription)
        return None, _("The webhook was resumed.")
    if action == "delete":
        deliveries.subscription_delete(actor=actor, subscription=subscription)
        return None, _("The webhook was deleted.")
    return None, ""


def _secret_key(pk: int) -> str:
    return f"monitoring.webhook_secret.{pk}"


def _keep_secret(request: HttpRequest, pk: int, secret: str) -> None:
    """Keep a new secret for the next page view only (Post/Redirect/Get), encrypted in the
    session store; never in a message (the message store may be a cookie) or a log."""
    request.session[_secret_key(pk)] = crypto.encrypt(secret)


def _take_secret(request: HttpRequest, pk: int) -> str | None:
    """The secret kept by ``_keep_secret``, removed from the session: it is shown once."""
    token = request.session.pop(_secret_key(pk), None)
    if not isinstance(token, str):
        return None
    try:
        return crypto.decrypt(token)
    except crypto.DecryptionFailed:
        return None


def _suspension(subscription: Any, items: list[Any]) -> Any:
    """Why a suspended webhook stopped: its newest failed delivery, described."""
    if subscription is None or subscription.status != subscription.Status.SUSPENDED:
        return None
    failed = next((d for d in items if d.status == d.Status.FAILED), None)
    if failed is None:
        return None
    return delivery_errors.describe(failed.last_error, failed.last_status_code)


@requires(rules.can_view_granted_data)
def webhook(request: ActorRequest, pk: int) -> HttpResponse:
    record_set = selectors.record_set_get(actor=request.user, pk=pk)
    form = WebhookUrlForm(request.POST if request.POST.get("action") == "save" else None)
    if request.method == "POST":
        try:
            secret, done = _act(request, pk, form)
        except DomainError as exc:
            # the record set's access was decided above; a missing webhook is shown here
            if request.POST.get("action") == "save":
                form.add_error("url", str(exc.message))
            else:
                messages.error(request, str(exc.message))
            secret, done = None, ""
        if secret:
            _keep_secret(request, pk, secret)
        if done:
            messages.success(request, done)
        if done or not form.is_bound:
            return redirect("monitoring:webhook", pk=pk)
    secret = _take_secret(request, pk) if request.method == "GET" else None
    subscription = deliveries.subscription_get(actor=request.user, record_set_id=pk)
    if not form.is_bound:
        form = WebhookUrlForm(initial={"url": subscription.url if subscription else ""})
    items: list[Any] = []
    more = False
    if subscription is not None:
        items, next_before = deliveries.deliveries_list(
            subscription=subscription, limit=RECENT_DELIVERIES
        )
        more = next_before is not None
        for item in items:
            item.error = delivery_errors.describe(  # type: ignore[attr-defined]  # for the template
                item.last_error, item.last_status_code
            )
    response = render(
        request,
        "monitoring/webhook_detail.html",
        {
            "record_set": record_set,
            "subscription": subscription,
            "deliveries": items,
            "more_deliveries": more,
            "recent": RECENT_DELIVERIES,
            "form": form,
            "secret": secret,
            "max_attempts": deliveries.MAX_ATTEMPTS,
            "suspension": _suspension(subscription, items),
        },
        status=200 if not form.is_bound or form.is_valid() else 422,
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response
