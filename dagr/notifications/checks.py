"""Time-based events, found by a periodic check (the worker's notification tick, every
``NOTIFICATIONS_CHECK_INTERVAL_S``): each event is written once as an audit entry, which the
dispatch then turns into notifications like any other action. Once = a ``CheckMark`` key inserted
in the same transaction as the entry (a unique key, so a second check or a second worker finds
it and writes nothing).

- ``notifications.grant.expiring``: an approved grant ends in 30 days, and again in 7 days
  (announced when first seen within that many days, so a check that did not run on the exact day
  still announces it);
- ``notifications.grant.quota_high``: today's use of a grant reached 80 % of its daily quota
  (once per grant and day);
- ``notifications.dataset.stale``: a production dataset had no successful load for 24 hours
  (once per dataset and last load; a new load starts a new period).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset
from dagr.core.actors import SYSTEM
from dagr.grants.models import Grant, GrantUsage
from dagr.records.models import Load

from .models import CheckMark

EXPIRY_DAYS = (7, 30)
QUOTA_SHARE = 0.8
STALE_AFTER = timedelta(hours=24)


def _once(key: str, **entry: Any) -> bool:
    try:
        with transaction.atomic():
            CheckMark.objects.create(key=key[:200])
            admin_entry_create(actor=SYSTEM, **entry)
    except IntegrityError:
        return False
    return True


def grants_expiring(today: Any = None) -> int:
    today = today or timezone.localdate()
    written = 0
    grants = Grant.objects.filter(
        status=Grant.Status.APPROVED,
        valid_until__gte=today,
        valid_until__lte=today + timedelta(days=max(EXPIRY_DAYS)),
    ).select_related("dataset")
    for grant in grants:
        assert grant.valid_until is not None
        left = (grant.valid_until - today).days
        days = min(d for d in EXPIRY_DAYS if left <= d)
        written += _once(
            f"grant-expiring:{grant.pk}:{days}:{grant.valid_until.isoformat()}",
            action="notifications.grant.expiring",
            target=grant,
            institution_id=grant.recipient_id,
            changes={"days": days, "valid_until": grant.valid_until.isoformat()},
        )
    return written


def grants_quota(today: Any = None) -> int:
    today = today or timezone.localdate()
    written = 0
    usages = GrantUsage.objects.filter(
        day=today, grant__status=Grant.Status.APPROVED, grant__quota__gt=0
    ).select_related("grant")
    for usage in usages:
        quota = usage.grant.quota or 0
        if usage.count < quota * QUOTA_SHARE:
            continue
        written += _once(
            f"grant-quota:{usage.grant_id}:{today.isoformat()}",
            action="notifications.grant.quota_high",
            target=usage.grant,
            institution_id=usage.grant.recipient_id,
            changes={"used": usage.count, "quota": quota, "day": today.isoformat()},
        )
    return written


def datasets_stale(now: Any = None) -> int:
    now = now or timezone.now()
    written = 0
    datasets = Dataset.objects.filter(status=Dataset.Status.PRODUCTION).annotate(
        last_ok=Max("loads__finished_at", filter=Q(loads__status=Load.Status.SUCCEEDED)),
        last_id=Max("loads__id", filter=Q(loads__status=Load.Status.SUCCEEDED)),
    )
    for dataset in datasets:
        since = dataset.last_ok or dataset.created_at
        if since > now - STALE_AFTER:
            continue
        written += _once(
            f"dataset-stale:{dataset.pk}:{dataset.last_id or 0}",
            action="notifications.dataset.stale",
            target=dataset,
            institution_id=dataset.provider_id,
            changes={
                "last_loaded": (
                    timezone.localtime(dataset.last_ok).strftime("%Y-%m-%d %H:%M")
                    if dataset.last_ok
                    else ""
                )
            },
        )
    return written


def run_checks() -> dict[str, int]:
    return {
        "grants_expiring": grants_expiring(),
        "grants_quota": grants_quota(),
        "datasets_stale": datasets_stale(),
    }
