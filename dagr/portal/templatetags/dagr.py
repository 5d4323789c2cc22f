"""Template helpers. ``{% if request.user|can:"edit_dataset"|of:dataset %}`` asks
``dagr.permissions.rules`` — templates never test roles themselves."""

from __future__ import annotations

from typing import Any

from django import template

from dagr.core.actors import Visitor
from dagr.permissions import rules

register = template.Library()


class _Pending:
    def __init__(self, actor: Visitor, rule: str) -> None:
        self.actor, self.rule = actor, rule

    def __bool__(self) -> bool:
        return bool(rules.RULES[self.rule](self.actor))


@register.filter
def can(actor: Visitor, rule: str) -> _Pending:
    return _Pending(actor, rule)


@register.filter
def of(pending: _Pending, obj: Any) -> bool:
    return bool(rules.RULES[pending.rule](pending.actor, obj))
