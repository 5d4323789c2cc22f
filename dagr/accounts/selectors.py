"""Reads for institutions, users, applications and the administrative audit trail. Every
selector takes the actor and narrows through ``dagr.permissions.rules``; an object the actor may
not see raises ``NotFound`` exactly like a missing one."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from dagr.audit import selectors as audit_selectors
from dagr.audit.models import AdminEntry
from dagr.core.actors import Actor
from dagr.core.errors import NotFound, PermissionDenied
from dagr.permissions import rules

from .models import Application, Institution, Invitation, Membership, TwoFactorDevice, User


def institution_list(
    *, actor: Actor, q: str = "", kind: str = "", status: str = ""
) -> QuerySet[Institution]:
    qs = rules.manageable_institutions(actor).annotate(
        member_count=Count("memberships__user", distinct=True)
    )
    if q:
        qs = qs.filter(
            Q(name__icontains=q) | Q(short_name__icontains=q) | Q(registration_number__contains=q)
        )
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("name")


def institution_get(*, actor: Actor, pk: int) -> Institution:
    institution = Institution.objects.filter(pk=pk).first()
    if institution is None or not rules.can_view_institution(actor, institution):
        raise NotFound
    return institution


def institution_members(*, actor: Actor, institution: Institution) -> list[dict[str, Any]]:
    """The users with a role in ``institution``: ``[{"user": …, "roles": [Membership, …]}]``."""
    if not rules.can_view_institution(actor, institution):
        raise NotFound
    memberships = (
        Membership.objects.filter(institution=institution)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "role")
    )
    members: dict[int, dict[str, Any]] = {}
    for m in memberships:
        members.setdefault(m.user_id, {"user": m.user, "roles": []})["roles"].append(m)
    return list(members.values())


def user_list(
    *,
    actor: Actor,
    q: str = "",
    institution_id: int | None = None,
    status: str = "",
    role: str = "",
) -> QuerySet[User]:
    qs = rules.manageable_users(actor)
    if q:
        qs = qs.filter(
            Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
            | Q(position__icontains=q)
        )
    if institution_id:
        qs = qs.filter(
            Q(memberships__institution_id=institution_id)
            | Q(applications__institution_id=institution_id)
        )
    if role:
        membership_filter = Q(memberships__role=role)
        if institution_id:
            membership_filter &= Q(memberships__institution_id=institution_id)
        qs = qs.filter(membership_filter)
    if status:
        qs = qs.filter(status=status)
    return (
        qs.distinct()
        .annotate(
            # a signatory sees who in the institution has two-factor authentication on
            has_two_factor=Exists(
                TwoFactorDevice.objects.filter(user_id=OuterRef("pk"), confirmed_at__isnull=False)
            )
        )
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("institution").order_by(
                    "institution__name", "role"
                ),
            )
        )
        .order_by("last_name", "first_name", "pk")
    )


def user_get(*, actor: Actor, pk: int) -> User:
    user = User.objects.filter(pk=pk).first()
    if user is None or not rules.can_view_user(actor, user):
        raise NotFound
    return user


def user_memberships(*, actor: Actor, user: User) -> list[Membership]:
    if not rules.can_view_user(actor, user):
        raise NotFound
    return list(
        user.memberships.select_related("institution").order_by("institution__name", "role")
    )


def user_applications(*, actor: Actor, user: User) -> list[Application]:
    if not rules.can_view_user(actor, user):
        raise NotFound
    qs = user.applications.select_related("institution", "decided_by")
    if not rules.is_portal_admin(actor) and actor.pk != user.pk:
        qs = qs.filter(institution__in=rules.manageable_institutions(actor))
    return list(qs)


def application_list(
    *, actor: Actor, status: str = "", institution_id: int | None = None
) -> QuerySet[Application]:
    qs = Application.objects.filter(institution__in=rules.manageable_institutions(actor))
    if status:
        qs = qs.filter(status=status)
    if institution_id:
        qs = qs.filter(institution_id=institution_id)
    return qs.select_related("user", "institution", "decided_by").order_by("-created_at")


def application_get(*, actor: Actor, pk: int) -> Application:
    application = (
        Application.objects.select_related("user", "institution", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if application is None or not rules.can_decide_application(actor, application):
        raise NotFound
    return application


def user_audit(*, actor: Actor, user: User, limit: int = 20) -> list[AdminEntry]:
    """Recent audit entries about one user (for administrators)."""
    if not rules.can_view_admin_audit(actor):
        return []
    return list(
        audit_selectors.admin_entry_list(target_type="accounts.user", target_id=str(user.pk))[
            :limit
        ]
    )


def admin_audit_list(
    *,
    actor: Actor,
    action: str = "",
    target_type: str = "",
    target: str = "",
    actor_filter: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AdminEntry]:
    if not rules.can_view_admin_audit(actor):
        raise PermissionDenied
    return audit_selectors.admin_entry_list(
        action=action,
        target_type=target_type,
        target=target,
        actor=actor_filter,
        date_from=date_from,
        date_to=date_to,
    )


def admin_audit_filter_choices(*, actor: Actor) -> dict[str, list[str]]:
    if not rules.can_view_admin_audit(actor):
        raise PermissionDenied
    return {
        "actions": audit_selectors.admin_entry_actions(),
        "target_types": audit_selectors.admin_entry_target_types(),
    }


def invitation_list(*, actor: Actor) -> QuerySet[Invitation]:
    """Invitations into the institutions the actor manages, newest first."""
    return (
        Invitation.objects.filter(institution__in=rules.manageable_institutions(actor))
        .select_related("institution", "invited_by")
        .order_by("-created_at")
    )


def user_has_two_factor(*, actor: Actor, user: User) -> bool:
    if not rules.can_view_user(actor, user):
        raise NotFound
    return TwoFactorDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
