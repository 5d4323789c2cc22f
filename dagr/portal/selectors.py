"""What the home page and the role dashboards show."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from dagr.accounts.models import Application, Institution, Membership, User
from dagr.accounts.reviews import reviews_for
from dagr.catalog.models import Dataset
from dagr.catalog.selectors import datasets_visible_to
from dagr.permissions import rules


def home_context() -> dict[str, Any]:
    public = datasets_visible_to(None)
    return {
        "dataset_count": public.count(),
        "provider_count": public.values("provider").distinct().count(),
        "recent_datasets": public.select_related("provider").order_by("-updated_at")[:6],
    }


def dashboard_context(*, actor: User) -> dict[str, Any]:
    memberships = list(
        Membership.objects.filter(user=actor)
        .select_related("institution")
        .order_by("institution__name", "role")
    )
    provider_ids = rules.institution_ids_with_role(actor, Membership.Role.PROVIDER)
    signatory_ids = rules.institution_ids_with_role(actor, Membership.Role.SIGNATORY)
    recipient_ids = rules.institution_ids_with_role(actor, Membership.Role.RECIPIENT)
    context: dict[str, Any] = {
        "memberships": memberships,
        "is_admin": rules.is_portal_admin(actor),
        "is_provider": bool(provider_ids),
        "is_signatory": bool(signatory_ids),
        "is_recipient": bool(recipient_ids),
    }
    if provider_ids or context["is_admin"]:
        qs = Dataset.objects.select_related("provider")
        if not context["is_admin"]:
            qs = qs.filter(provider_id__in=provider_ids)
        context["provider_datasets"] = qs.order_by("provider__name", "code")[:50]
    if signatory_ids or context["is_admin"]:
        apps = Application.objects.filter(status=Application.Status.PENDING)
        if not context["is_admin"]:
            apps = apps.filter(institution_id__in=signatory_ids)
        context["pending_applications"] = apps.select_related("user", "institution")[:50]
        # the periodic access reviews waiting for this signatory (a dashboard task)
        context["access_reviews"] = list(reviews_for(actor)[:50])
    if context["is_admin"]:
        context["stats"] = {
            "institutions": Institution.objects.count(),
            "users": User.objects.aggregate(
                active=Count("pk", filter=Q(status=User.Status.ACTIVE)),
                pending=Count("pk", filter=Q(status=User.Status.PENDING)),
                blocked=Count("pk", filter=Q(status=User.Status.BLOCKED)),
            ),
            "datasets": Dataset.objects.count(),
        }
    return context
