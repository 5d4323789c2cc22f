"""Reading the administrative audit trail. Callers check who may read it (this app imports no
other DAGR app, so the permission check is the caller's: ``dagr.accounts.selectors``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AdminEntry


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def admin_entry_list(
    *,
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    target: str = "",
    actor: str = "",
    actor_id: int | None = None,
    institution_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AdminEntry]:
    """Entries newest first. ``action`` matches a dotted name or its prefix (``accounts.user``);
    ``target`` and ``actor`` match the exact id when all digits, else the label
    (case-insensitive substring);
    ``date_to`` is inclusive."""
    qs = AdminEntry.objects.all()
    if action:
        qs = qs.filter(Q(action=action) | Q(action__startswith=action.rstrip(".") + "."))
    if target_type:
        qs = qs.filter(target_type=target_type)
    if target_id:
        qs = qs.filter(target_id=target_id)
    if target:
        qs = (
            qs.filter(target_id=target)
            if target.isdigit()
            else qs.filter(target_label__icontains=target)
        )
    if actor:
        by_actor = Q(actor_label__icontains=actor)
        if actor.isdigit():
            by_actor |= Q(actor_id=int(actor))
        qs = qs.filter(by_actor)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    if institution_id is not None:
        qs = qs.filter(institution_id=institution_id)
    if date_from:
        qs = qs.filter(at__gte=_start_of(date_from))
    if date_to:
        qs = qs.filter(at__lt=_start_of(date_to + timedelta(days=1)))
    return qs.order_by("-at", "-id")


def admin_entry_actions() -> list[str]:
    """Every action name that occurs in the trail (for a filter's choices)."""
    return list(AdminEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def admin_entry_target_types() -> list[str]:
    return list(
        AdminEntry.objects.order_by("target_type").values_list("target_type", flat=True).distinct()
    )
