"""Writing audit entries. Services call ``admin_entry_create`` inside their own transaction, so the
change and its audit entry commit together or not at all. Administrative entries form one keyed
chain (``dagr.audit.integrity``), appended under a row lock on its head: such changes are
rare, so one chain costs nothing noticeable."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from dagr.core.actors import Actor
from dagr.core.middleware import current_request_id

from .access import subject_hash
from .access_selectors import who_read_summary
from .integrity import GENESIS, VERSION, admin_digest, chain_key
from .models import AdminEntry, AdminHead


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
    actor: Actor | None,
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
    ip_field = AdminEntry._meta.get_field("ip_address")
    values: dict[str, Any] = {
        "at": timezone.now(),
        "action": action,
        "actor_id": getattr(actor, "pk", None),
        "actor_label": _label(actor) if actor is not None else "system",
        "institution_id": institution_id,
        "target_type": (target_type or "")[:100],
        "target_id": (target_id or "")[:100],
        "target_label": (target_label or "")[:255],
        "changes": _jsonable(changes or {}),
        "request_id": (current_request_id() or "")[:64],
        # As the database returns it (IPv6 compressed), so the digest is reproducible.
        "ip_address": ip_field.to_python(ip_address) if ip_address else None,
        "version": VERSION,
    }
    with transaction.atomic():
        AdminHead.objects.bulk_create(
            [AdminHead(pk=1, last_seq=0, last_hash=GENESIS)], ignore_conflicts=True
        )
        head = AdminHead.objects.select_for_update().get(pk=1)
        values["seq"] = head.last_seq + 1
        entry_hash = admin_digest(chain_key(), head.last_hash, values)
        entry = AdminEntry.objects.create(prev_hash=head.last_hash, entry_hash=entry_hash, **values)
        AdminHead.objects.filter(pk=1).update(last_seq=values["seq"], last_hash=entry_hash)
    return entry


def who_read_search(
    *, actor: Actor, identifier: str, since: Any = None, until: Any = None
) -> list[Any]:
    """Answer "who read this person's data" — and record that the actor asked, with the keyed
    hash of the identifier as the target (never the identifier itself), so the question "who
    looked up person X" has an answer too."""
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
