"""Small template filters of the accounts pages."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django import template

from dagr.accounts.models import Membership
from dagr.audit import actions

register = template.Library()


@register.filter
def minutes(value: Any) -> int:
    """Whole minutes (rounded up) of a ``timedelta``; 0 for anything else."""
    if isinstance(value, timedelta):
        return max(1, math.ceil(value.total_seconds() / 60))
    return 0


@register.filter
def change_pair(value: Any) -> tuple[Any, Any]:
    """An audit change ``[old, new]`` as a pair; any other value as ``(None, value)``."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    return None, value


@register.filter
def action_label(action: str) -> str:
    """An audit action's name as people read it (``accounts.membership.granted`` → "role
    granted"), from the registry in ``dagr.audit.actions``."""
    return actions.action_label(action)


@register.filter
def target_type_label(target_type: str) -> str:
    """``connections.connection`` → the model's name ("technical connection")."""
    return actions.target_type_label(target_type)


_ROLE_FIELDS = frozenset({"role", "roles"})


@register.filter
def change_value(value: Any, field: str) -> Any:
    """One side of an audit change as people read it: role codes as role names, lists joined."""
    if value is None:
        return None
    values = value if isinstance(value, list | tuple) else None
    if field in _ROLE_FIELDS:
        roles = dict(Membership.Role.choices)
        names = [str(roles.get(v, v)) for v in (values if values is not None else [value])]
        return ", ".join(names)
    if values is not None:
        return ", ".join(str(v) for v in values)
    return value
