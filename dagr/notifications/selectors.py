"""Reads of notifications: the inbox, templates and their versions, newsletter recipients and
progress."""

from __future__ import annotations

import difflib
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from dagr.accounts.models import Membership, User
from dagr.core.errors import NotFound

from .models import Delivery, Newsletter, Notification, Preference, Template
from .registry import KINDS

ACTIVE = Membership.Status.ACTIVE  # suspended roles (access review) receive nothing


def inbox(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at=None).count()


def preferences(user: User) -> list[dict[str, Any]]:
    off = set(Preference.objects.filter(user=user, email=False).values_list("kind", flat=True))
    return [
        {"kind": kind, "email": kind.security or kind.key not in off, "locked": kind.security}
        for kind in KINDS
    ]


def template_versions(kind: str, language: str) -> QuerySet[Template]:
    return Template.objects.filter(kind=kind, language=language).order_by("-version")


def template_version(kind: str, language: str, version: int) -> Template:
    found = Template.objects.filter(kind=kind, language=language, version=version).first()
    if found is None:
        raise NotFound
    return found


def version_diff(older: Template, newer: Template) -> str:
    """An HTML side-by-side table (difflib) of the three parts."""
    differ = difflib.HtmlDiff(wrapcolumn=70)
    parts = []
    for label, a, b in (
        (_("Subject"), older.subject, newer.subject),
        (_("HTML body"), older.html, newer.html),
        (_("Text body"), older.text, newer.text),
    ):
        table = differ.make_table(
            a.splitlines(),
            b.splitlines(),
            fromdesc=f"v{older.version}",
            todesc=f"v{newer.version}",
            context=True,
        )
        parts.append((str(label), table))
    return "".join(f"<h3>{label}</h3>{table}" for label, table in parts)


def newsletter_recipients(group: str, value: str = "") -> QuerySet[User]:
    """The exact recipients of a group: active users with an e-mail address, in id order."""
    from dagr.catalog.models import Dataset
    from dagr.grants.models import Grant

    users = User.objects.filter(status=User.Status.ACTIVE).exclude(email="")
    if group == Newsletter.Group.ALL:
        pass
    elif group == Newsletter.Group.ROLE:
        if value == "admin":
            users = users.filter(is_portal_admin=True)
        else:
            users = users.filter(memberships__role=value, memberships__status=ACTIVE)
    elif group == Newsletter.Group.INSTITUTION_KIND:
        users = users.filter(memberships__institution__kind=value, memberships__status=ACTIVE)
    elif group == Newsletter.Group.DATASET_GRANTS:
        institutions = Grant.objects.filter(
            dataset__code=value, status=Grant.Status.APPROVED
        ).values("recipient_id")
        users = users.filter(
            memberships__institution__in=institutions,
            memberships__role=Membership.Role.RECIPIENT,
            memberships__status=ACTIVE,
        )
    elif group == Newsletter.Group.PROVIDERS_BY_STATUS:
        providers = Dataset.objects.filter(status=value).values("provider_id")
        users = users.filter(
            memberships__institution__in=providers,
            memberships__role=Membership.Role.PROVIDER,
            memberships__status=ACTIVE,
        )
    else:
        return users.none()
    return users.distinct().order_by("pk")


def newsletter_progress(newsletter: Newsletter) -> dict[str, int]:
    counts = dict(
        newsletter.deliveries.values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    total = sum(counts.values())
    done = counts.get(Delivery.Status.SENT, 0) + counts.get(Delivery.Status.FAILED, 0)
    retrying = newsletter.deliveries.filter(status=Delivery.Status.QUEUED, attempts__gt=0).count()
    return {
        "total": total,
        "queued": counts.get(Delivery.Status.QUEUED, 0),
        "sent": counts.get(Delivery.Status.SENT, 0),
        "failed": counts.get(Delivery.Status.FAILED, 0),
        "retrying": retrying,
        "percent": int(done * 100 / total) if total else 0,
    }
