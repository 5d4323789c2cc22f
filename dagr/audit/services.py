"""Writing audit entries. Services call ``admin_entry_create`` inside their own transaction, so the
change and its audit entry commit together or not at all."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from dagr.core.middleware import current_request_id

from .models import AdminEntry


def _label(obj: Any) -> str:
    return str(obj)[:255] if obj is not None else ""


def diff_fields(
    before: dict[str, Any], after: dict[str, Any], *, secret_fields: frozenset[str] = frozenset()
) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field whose value changed; secrets are masked."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = (
                ["***", "***"] if key in secret_fields else [_jsonable(old), _jsonable(new)]
            )
    return changes


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def admin_entry_create(
    *,
    action: str,
    actor: Any | None,
    target: models.Model | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    target_label: str | None = None,
    institution_id: int | None = None,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AdminEntry:
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_label = target_label or _label(target)
    return AdminEntry.objects.create(
        at=timezone.now(),
        action=action,
        actor_id=getattr(actor, "pk", None),
        actor_label=_label(actor) if actor is not None else "system",
        institution_id=institution_id,
        target_type=target_type or "",
        target_id=target_id or "",
        target_label=target_label or "",
        changes=_jsonable(changes or {}),
        request_id=current_request_id() or "",
        ip_address=ip_address,
    )


def who_read_search(
    *, actor: Any, identifier: str, since: Any = None, until: Any = None
) -> list[Any]:
    """Answer "who read this person's data" — and record that the actor asked, with the keyed
    hash of the identifier as the target (never the identifier itself), so the question "who
    looked up person X" has an answer too."""
    from .access import subject_hash
    from .access_selectors import who_read_summary

    summary = who_read_summary(identifier, since=since, until=until)
    admin_entry_create(
        action="audit.subject.searched",
        actor=actor,
        target_type="audit.subject",
        target_id=subject_hash(identifier).hex(),
        target_label="",
        changes={"since": [None, since], "until": [None, until], "groups": [None, len(summary)]},
    )
    return summary
