"""The audit log as an outbox: turn new ``AdminEntry`` rows into notifications and e-mails.

``dispatch_pending`` locks the cursor row, reads the entries after ``last_seq`` (the audit
chain's sequence number: assigned under the chain head's row lock and committed in that order, so
no entry with a smaller number can appear later), writes the ``Notification`` rows and queued
``Delivery`` rows for the kinds of ``registry.py``, and moves the cursor — all in one
transaction. A process that dies half-way commits nothing; the next run does it again. Two
workers are serialised by the cursor's row lock.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from dagr.accounts.models import User
from dagr.audit.models import AdminEntry

from . import registry
from .composing import compose
from .models import Delivery, DispatchCursor, Notification, Preference

logger = logging.getLogger(__name__)
CURSOR = "audit"
BATCH = 200


def language_of(user: User) -> str:
    return user.language if user.language in {"lv", "en"} else "lv"


def _cursor() -> DispatchCursor:
    """The cursor row, locked. The migration that adds this app creates it at the end of the
    existing log (history is not announced again); without it (an emptied table) from 0."""
    DispatchCursor.objects.bulk_create([DispatchCursor(name=CURSOR)], ignore_conflicts=True)
    return DispatchCursor.objects.select_for_update().get(name=CURSOR)


def _email_off(user_ids: list[int], kind: str) -> set[int]:
    return set(
        Preference.objects.filter(user_id__in=user_ids, kind=kind, email=False).values_list(
            "user_id", flat=True
        )
    )


def notify_entry(entry: AdminEntry) -> int:
    """Notifications and deliveries for one entry (inside the caller's transaction)."""
    made = 0
    for kind in registry.kinds_for(entry):
        by_language: dict[str, tuple[list[User], dict[str, Any]]] = {}
        for language in ("lv", "en"):
            with translation.override(language):
                by_language[language] = kind.resolve(entry)
        recipients = by_language["lv"][0]
        if not recipients:
            continue
        off = set() if kind.security else _email_off([u.pk for u in recipients], kind.key)
        now = timezone.now()
        for user in recipients:
            language = language_of(user)
            context = {
                **by_language[language][1],
                "recipient_name": user.full_name or user.email,
                "site_url": registry.absolute_url("/"),
            }
            context.setdefault("url", registry.absolute_url("/"))
            message = compose(
                kind.key, language, context, user_id=user.pk, optional=not kind.security
            )
            _notification, created = Notification.objects.get_or_create(
                user=user,
                kind=kind.key,
                entry_seq=entry.seq,
                defaults={
                    "subject": message.subject,
                    "body": message.text.split("\n-- \n")[0].strip(),
                    "url": context.get("url", ""),
                },
            )
            if not created:
                continue
            made += 1
            if user.pk in off or not user.email:
                continue
            Delivery.objects.create(
                user=user,
                to=user.email,
                kind=kind.key,
                language=language,
                subject=message.subject,
                html=message.html,
                text=message.text,
                headers=message.headers,
                next_attempt_at=now,
            )
    return made


def dispatch_pending(*, batch: int = BATCH) -> int:
    """Process up to ``batch`` new audit entries; returns the number of notifications made."""
    made = 0
    with transaction.atomic():
        cursor = _cursor()
        entries = list(AdminEntry.objects.filter(seq__gt=cursor.last_seq).order_by("seq")[:batch])
        if not entries:
            return 0
        wanted = registry.actions()
        for entry in entries:
            if entry.action not in wanted:
                continue
            try:
                with transaction.atomic():  # a savepoint: one broken entry must not block all
                    made += notify_entry(entry)
            except Exception:
                logger.exception("notifications for audit entry #%s failed", entry.seq)
        cursor.last_seq = int(entries[-1].seq or cursor.last_seq)
        cursor.save(update_fields=["last_seq", "updated_at"])
    return made


def dispatch_all() -> int:
    made = 0
    while True:
        before = DispatchCursor.objects.filter(name=CURSOR).values_list("last_seq", flat=True)
        first = before.first()
        made += dispatch_pending()
        after = DispatchCursor.objects.filter(name=CURSOR).values_list("last_seq", flat=True)
        if first is not None and after.first() == first:
            return made
