"""The webhook page of a record set (recipient representatives of its institution): set or
change the endpoint URL, see the secret once, rotate it, pause, resume or delete the webhook,
and follow the deliveries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dagr.core.errors import DomainError
from dagr.permissions import rules
from dagr.permissions.access import requires

from . import deliveries
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


def _act(request: HttpRequest, pk: int, form: WebhookUrlForm) -> tuple[str | None, str]:
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


@requires(rules.can_view_granted_data)
def webhook(request: HttpRequest, pk: int) -> HttpResponse:
    record_set = deliveries.webhook_record_set_get(actor=request.user, record_set_id=pk)
    secret: str | None = None
    form = WebhookUrlForm(request.POST if request.POST.get("action") == "save" else None)
    if request.method == "POST":
        try:
            secret, done = _act(request, pk, form)
        except DomainError as exc:
            if request.POST.get("action") == "save":
                form.add_error("url", str(exc.message))
            else:
                messages.error(request, str(exc.message))
            done = ""
        if done:
            messages.success(request, done)
        if done and not secret:
            return redirect("monitoring:webhook", pk=pk)
    subscription = deliveries.subscription_get(actor=request.user, record_set_id=pk)
    if not form.is_bound:
        form = WebhookUrlForm(initial={"url": subscription.url if subscription else ""})
    items: list[Any] = []
    if subscription is not None:
        items, _next = deliveries.deliveries_list(
            subscription=subscription, limit=RECENT_DELIVERIES
        )
    response = render(
        request,
        "monitoring/webhook_detail.html",
        {
            "record_set": record_set,
            "subscription": subscription,
            "deliveries": items,
            "form": form,
            "secret": secret,
            "max_attempts": deliveries.MAX_ATTEMPTS,
        },
    )
    if secret:
        response["Cache-Control"] = "no-store"
    return response
