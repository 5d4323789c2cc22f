"""Portal forms and domain errors: the one way a service's ``DomainError`` is shown on a form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import DomainError


def form_add_domain_error(
    form: Any,
    error: DomainError,
    *,
    at_fields: bool = False,
    aliases: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> None:
    """Put ``error`` (and the problems it lists, at most ``limit``) on ``form``.

    - ``at_fields=False``: the error's message on top, then every listed problem that has a
      message on top as ``"location: message"``.
    - ``at_fields=True``: each listed problem next to the form field its ``location`` names
      (``aliases`` maps a service's location to the form's field name); problems of no field of
      the form are left out, and the error's message goes on top when no problem was placed.
    """
    problems = error.errors if limit is None else error.errors[:limit]
    if not at_fields:
        form.add_error(None, str(error.message))
        for problem in problems:
            if problem.get("message"):
                form.add_error(None, f"{problem.get('location', '')}: {problem['message']}")
        return
    placed = False
    for problem in problems:
        location = problem.get("location", "")
        field = (aliases or {}).get(location, location)
        if field in form.fields:
            form.add_error(field, str(problem["message"]))
            placed = True
    if not placed:
        form.add_error(None, str(error.message))
