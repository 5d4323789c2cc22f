from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField, CheckboxSelectMultiple
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def field_with_findings(context: Any, field: BoundField, shown: dict[str, Any]) -> SafeString:
    """A form field with the validation's plain-word findings about it below."""
    items = shown.get(field.name, [])
    attrs = field.field.widget.attrs
    described = [f"{field.auto_id}_helptext"] if field.help_text else []
    if not isinstance(field.field.widget, CheckboxSelectMultiple):
        attrs["aria-describedby"] = " ".join([*described, f"check-{field.name}"])
    if any(s.severity == "violation" for s in items) or field.errors:
        attrs["aria-invalid"] = "true"
    return render_to_string(
        "opendata/_field.html",
        {"field": field, "shown_items": items},
        request=context.get("request"),
    )
