"""Small template filters of the accounts pages."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django import template

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
