"""Periodic access review: every ``DAGR_ACCESS_REVIEW_MONTHS`` (default 6) each institution's
signatories are asked to confirm that each user still needs each role. The daily task opens a
review (audit ``accounts.access_review.requested``, e-mailed to the signatories; it also shows on
their dashboard); a role confirmed or removed there is done; a role not confirmed by ``due_at``
(``DAGR_ACCESS_REVIEW_GRACE_DAYS``, default 30) is suspended — it gives no rights — and the
signatory (or an administrator) can restore it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create
from dagr.core.actors import SYSTEM, Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied
from dagr.permissions import rules

from . import emails
from .models import AccessReview, Institution, Membership


def _period() -> timedelta:
    return timedelta(days=round(settings.DAGR_ACCESS_REVIEW_MONTHS * 30.44))


def open_review(institution: Institution | int) -> AccessReview | None:
    iid = institution if isinstance(institution, int) else institution.pk
    return AccessReview.objects.filter(institution_id=iid, closed_at__isnull=True).first()


def _membership_audit(action: str, actor: Actor, m: Membership, **changes: Any) -> None:
    admin_entry_create(
        action=action,
        actor=actor,
        target=m.user,
        institution_id=m.institution_id,
        changes={"role": [m.role, m.role], "institution": [m.institution.name] * 2, **changes},
    )


def reviews_open_due(*, now: datetime | None = None) -> int:
    """Open a review for each active institution with members whose last review was opened
    more than a period ago (or never). Idempotent: one open review per institution."""
    now = now or timezone.now()
    if not settings.DAGR_ACCESS_REVIEW_MONTHS:
        return 0
    opened = 0
    candidates = Institution.objects.filter(
        status=Institution.Status.ACTIVE, memberships__isnull=False
    ).distinct()
    for institution in candidates:
        last = AccessReview.objects.filter(institution=institution).order_by("-opened_at").first()
        if last is not None and (last.closed_at is None or last.opened_at > now - _period()):
            continue
        # The first review of an institution waits a full period after its first role.
        if last is None:
            first_role = (
                Membership.objects.filter(institution=institution)
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            if first_role is not None and first_role > now - _period():
                continue
        with transaction.atomic():
            review = AccessReview.objects.create(
                institution=institution,
                opened_at=now,
                due_at=now + timedelta(days=settings.DAGR_ACCESS_REVIEW_GRACE_DAYS),
            )
            admin_entry_create(
                action="accounts.access_review.requested",
                actor=SYSTEM,
                target=institution,
                institution_id=institution.pk,
                changes={"due_at": [None, review.due_at.isoformat()]},
            )
            review_id = review.pk
            transaction.on_commit(
                lambda rid=review_id: emails.send_access_review_requested(review_id=rid)  # type: ignore[misc]
            )
        opened += 1
    return opened


def review_memberships(*, actor: Actor, institution: Institution) -> QuerySet[Membership]:
    if not rules.can_review_access_of(actor, institution):
        raise NotFound
    return (
        Membership.objects.filter(institution=institution)
        .select_related("user", "institution")
        .order_by("user__last_name", "user__first_name", "role")
    )


def _membership_for(actor: Actor, pk: int) -> Membership:
    m = Membership.objects.select_related("user", "institution").filter(pk=pk).first()
    if m is None or not rules.can_review_access_of(actor, m.institution_id):
        raise NotFound
    return m


def _close_if_done(institution_id: int, now: datetime) -> None:
    review = open_review(institution_id)
    if review is None:
        return
    unconfirmed = (
        Membership.objects.filter(institution_id=institution_id, status=Membership.Status.ACTIVE)
        .exclude(confirmed_at__gte=review.opened_at)
        .exclude(created_at__gte=review.opened_at)
    )
    if not unconfirmed.exists():
        review.closed_at = now
        review.save(update_fields=["closed_at"])
        admin_entry_create(
            action="accounts.access_review.completed",
            actor=SYSTEM,
            target=review.institution,
            institution_id=institution_id,
        )


def membership_confirm(*, actor: Actor, pk: int) -> Membership:
    m = _membership_for(actor, pk)
    now = timezone.now()
    with transaction.atomic():
        m = Membership.objects.select_for_update().select_related("user", "institution").get(pk=pk)
        if m.status != Membership.Status.ACTIVE:
            raise Conflict(_("A suspended role is restored, not confirmed."), code="suspended")
        m.confirmed_at = now
        m.save(update_fields=["confirmed_at"])
        _membership_audit("accounts.membership.confirmed", actor, m)
        _close_if_done(m.institution_id, now)
    return m


def membership_remove(*, actor: Actor, pk: int) -> None:
    """Remove a role in the review (the same as withdrawing it on the user's page)."""
    from .services import membership_revoke

    m = _membership_for(actor, pk)
    if not rules.can_grant_role(actor, m.user, m.institution):
        raise PermissionDenied
    with transaction.atomic():
        membership_revoke(actor=actor, user=m.user, institution=m.institution, role=m.role)
        _close_if_done(m.institution_id, timezone.now())


def membership_restore(*, actor: Actor, pk: int) -> Membership:
    m = _membership_for(actor, pk)
    now = timezone.now()
    with transaction.atomic():
        m = Membership.objects.select_for_update().select_related("user", "institution").get(pk=pk)
        if m.status != Membership.Status.SUSPENDED:
            raise Conflict(_("This role is not suspended."), code="not_suspended")
        m.status = Membership.Status.ACTIVE
        m.suspended_at = None
        m.confirmed_at = now
        m.save(update_fields=["status", "suspended_at", "confirmed_at"])
        _membership_audit(
            "accounts.membership.restored",
            actor,
            m,
            status=[Membership.Status.SUSPENDED, Membership.Status.ACTIVE],
        )
        rules.forget_cached_roles(m.user)
        _close_if_done(m.institution_id, now)
    return m


def reviews_suspend_overdue(*, now: datetime | None = None) -> int:
    """Suspend the roles not confirmed in reviews past their due date, and close those
    reviews. Idempotent: a suspended role is not suspended again."""
    now = now or timezone.now()
    suspended = 0
    for review in AccessReview.objects.filter(closed_at__isnull=True, due_at__lte=now):
        with transaction.atomic():
            stale = (
                Membership.objects.select_for_update()
                .select_related("user", "institution")
                .filter(institution_id=review.institution_id, status=Membership.Status.ACTIVE)
                .exclude(confirmed_at__gte=review.opened_at)
                .exclude(created_at__gte=review.opened_at)  # granted during the review
            )
            for m in stale:
                m.status = Membership.Status.SUSPENDED
                m.suspended_at = now
                m.save(update_fields=["status", "suspended_at"])
                _membership_audit(
                    "accounts.membership.suspended",
                    SYSTEM,
                    m,
                    status=[Membership.Status.ACTIVE, Membership.Status.SUSPENDED],
                    reason=["", "access review not confirmed in time"],
                )
                suspended += 1
            review.closed_at = now
            review.save(update_fields=["closed_at"])
            admin_entry_create(
                action="accounts.access_review.closed_overdue",
                actor=SYSTEM,
                target=review.institution,
                institution_id=review.institution_id,
            )
    return suspended


def reviews_for(actor: Actor) -> QuerySet[AccessReview]:
    """Open reviews the actor is asked to do (their dashboard task)."""
    institutions = rules.manageable_institutions(actor)  # as can_review_access_of
    return (
        AccessReview.objects.filter(institution__in=institutions, closed_at__isnull=True)
        .select_related("institution")
        .order_by("due_at")
    )


def review_get(*, actor: Actor, institution_id: int) -> tuple[Institution, AccessReview | None]:
    institution = Institution.objects.filter(pk=institution_id).first()
    if institution is None or not rules.can_review_access_of(actor, institution):
        raise NotFound
    return institution, open_review(institution)
