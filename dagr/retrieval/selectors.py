"""Reads for the retrieval API's "current permissions" call and the data viewer's grant choice.
These are portal-speed reads (ORM); the per-record hot path is in ``services`` /
``dagr.records.queries``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.access_selectors import grant_use_counts
from dagr.core.actors import Actor
from dagr.core.errors import NotFound
from dagr.grants.models import Grant
from dagr.grants.selectors import grants_issued_to, start_of_day
from dagr.permissions import rules


def permissions_list(*, institution_id: int, today: date | None = None) -> list[dict[str, Any]]:
    """Every access grant of the institution that has a permission number (approved, expired,
    not yet valid or revoked): dataset, number, purpose, use counts and quota, validity, fields
    and conditions."""
    today = today or timezone.localdate()
    grants = list(
        grants_issued_to(institution_ids=[institution_id])
        .select_related("dataset")
        .order_by("dataset__code", "permission_number")
    )
    counts = grant_use_counts([g.pk for g in grants], since=start_of_day(today))
    return [
        {
            "dataset": g.dataset.code,
            "dataset_title_lv": g.dataset.title_lv,
            "dataset_title_en": g.dataset.title_en,
            "permission_number": g.permission_number,
            "status": g.effective_status(today),
            "purpose": g.purpose,
            "legal_basis": g.legal_basis,
            "valid_from": g.valid_from,
            "valid_until": g.valid_until,
            "use_count": counts.get(g.pk, (0, 0))[0],
            "used_today": counts.get(g.pk, (0, 0))[1],
            "quota": g.quota,
            "fields": list(g.fields),
            "conditions": list(g.conditions),
        }
        for g in grants
    ]


@dataclass(frozen=True)
class ViewerGrant:
    grant: Grant
    usable: bool  # approved and within its validity period today


def viewer_grants(*, actor: Actor) -> list[ViewerGrant]:
    """Grants of the institutions the actor represents as a data recipient that have a
    permission number, production datasets only, usable ones first."""
    ids = rules.granted_data_institution_ids(actor)
    qs: QuerySet[Grant] = (
        grants_issued_to(institution_ids=ids, production_only=True)
        .select_related("dataset", "dataset__provider", "dataset__schema", "recipient")
        .order_by("dataset__code", "permission_number")
    )
    today = timezone.localdate()
    out = [ViewerGrant(g, g.effective_status(today) == Grant.Status.APPROVED) for g in qs]
    return sorted(out, key=lambda v: not v.usable)


def viewer_grant_get(*, actor: Actor, pk: int) -> Grant:
    """One grant for the data viewer, or ``NotFound`` when the actor does not represent its
    recipient as a data recipient."""
    for item in viewer_grants(actor=actor):
        if item.grant.pk == pk:
            return item.grant
    raise NotFound(_("No such access grant."), code="grant_not_found")
