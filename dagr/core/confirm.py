"""Confirmation pages of destructive portal actions.

A GET shows what will happen, what can be undone and by whom, with a cancel link back; only a POST
carrying ``confirm=yes`` (the button of that page) performs the action. A one-click POST without it
gets the confirmation page again and changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "yes"


def confirmed(request: HttpRequest) -> bool:
    """True only for a POST sent by a confirmation page's button."""
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE


def confirmation_page(
    request: HttpRequest,
    *,
    title: str,
    consequences: Sequence[str],
    undo: str,
    button: str,
    cancel_url: str,
    fields: Sequence[tuple[str, str]] = (),
    note_label: str = "",
) -> HttpResponse:
    """The page that asks before a destructive action (posting back to the same address)."""
    context: dict[str, Any] = {
        "title": title,
        "consequences": consequences,
        "undo": undo,
        "button": button,
        "cancel_url": cancel_url,
        "fields": fields,
        "note_label": note_label,
        "confirm_field": CONFIRM_FIELD,
        "confirm_value": CONFIRM_VALUE,
    }
    return render(request, "core/confirm.html", context)
