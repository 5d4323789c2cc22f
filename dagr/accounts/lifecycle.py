"""Leaving: ending a user's sessions, and deactivating users who no longer log in.

Sessions live in the database store (``django.contrib.sessions``), so ending a user's sessions
is deleting the rows whose decoded data names the user. Personal API use rides on the same
sessions (the management API's session authentication); technical connections belong to the
institution, not to a person, and stay.

Inactivity: a user who has not logged in for ``DAGR_INACTIVE_DEACTIVATE_DAYS`` (default 180;
never logged in: counted from the account's creation) is deactivated (status ``blocked``) by the
daily task; ``DAGR_INACTIVE_NOTICE_DAYS`` (default 14) before that, one notice is e-mailed and
audited (``User.inactivity_notice_at`` makes it once; a login clears it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dagr.audit.services import admin_entry_create
from dagr.core.actors import SYSTEM

from . import emails
from .models import User

SESSION_USER_KEY = "_auth_user_id"


def sessions_end(*, user_id: int, keep: str | None = None) -> int:
    """Delete every unexpired session of the user (but ``keep``, a session key); returns how
    many."""
    ended = 0
    wanted = str(user_id)
    sessions = Session.objects.filter(expire_date__gt=timezone.now())
    if keep:
        sessions = sessions.exclude(session_key=keep)
    for session in sessions.iterator():
        try:
            data = session.get_decoded()
        except Exception:  # noqa: S112 — a damaged session is simply not this user's
            continue
        if str(data.get(SESSION_USER_KEY)) == wanted:
            session.delete()
            ended += 1
    return ended


def _last_seen() -> Coalesce:
    return Coalesce("last_login", "created_at")


def _is_last_admin(user: User) -> bool:
    return (
        user.is_portal_admin
        and not User.objects.filter(is_portal_admin=True, status=User.Status.ACTIVE)
        .exclude(pk=user.pk)
        .exists()
    )


def inactive_users_process(*, now: datetime | None = None) -> dict[str, int]:
    """Send the notices that are due and deactivate the users whose time is up (idempotent:
    each user gets one notice per inactivity period; a deactivated user is no longer active).
    The last active portal administrator is never deactivated."""
    now = now or timezone.now()
    days = settings.DAGR_INACTIVE_DEACTIVATE_DAYS
    if not days:
        return {"notified": 0, "deactivated": 0}
    deactivate_before = now - timedelta(days=days)
    notice_before = deactivate_before + timedelta(days=settings.DAGR_INACTIVE_NOTICE_DAYS)
    active = User.objects.filter(status=User.Status.ACTIVE).annotate(seen=_last_seen())
    deactivated = 0
    for user in active.filter(seen__lte=deactivate_before).order_by("pk"):
        if _is_last_admin(user):
            continue
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=user.pk)
            if locked.status != User.Status.ACTIVE:
                continue
            locked.status = User.Status.BLOCKED
            locked.save(update_fields=["status", "updated_at"])
            admin_entry_create(
                action="accounts.user.deactivated_inactive",
                actor=SYSTEM,
                target=locked,
                changes={
                    "status": [User.Status.ACTIVE, User.Status.BLOCKED],
                    "last_login": [
                        locked.last_login.isoformat() if locked.last_login else None,
                        None,
                    ],
                },
            )
            user_id = locked.pk
            transaction.on_commit(lambda uid=user_id: sessions_end(user_id=uid))  # type: ignore[misc]
            transaction.on_commit(
                lambda uid=user_id: emails.send_deactivated_inactive(user_id=uid)  # type: ignore[misc]
            )
        deactivated += 1
    notified = 0
    due = active.filter(
        Q(inactivity_notice_at__isnull=True), seen__lte=notice_before, seen__gt=deactivate_before
    )
    for user in due.order_by("pk"):
        with transaction.atomic():
            changed = User.objects.filter(pk=user.pk, inactivity_notice_at__isnull=True).update(
                inactivity_notice_at=now
            )
            if not changed:
                continue
            deactivate_on = (user.seen + timedelta(days=days)).date()
            admin_entry_create(
                action="accounts.user.inactivity_notice",
                actor=SYSTEM,
                target=user,
                changes={"deactivation_on": [None, deactivate_on.isoformat()]},
            )
            user_id = user.pk
            transaction.on_commit(
                lambda uid=user_id, on=deactivate_on: emails.send_inactivity_notice(  # type: ignore[misc]
                    user_id=uid, deactivate_on=on
                )
            )
        notified += 1
    return {"notified": notified, "deactivated": deactivated}


def login_recorded(*, user: User) -> None:
    """A login clears a pending inactivity notice (Django itself updates ``last_login``)."""
    if user.inactivity_notice_at is not None:
        User.objects.filter(pk=user.pk).update(inactivity_notice_at=None)
        user.inactivity_notice_at = None
