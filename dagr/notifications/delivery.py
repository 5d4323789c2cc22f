"""Sending the queued ``Delivery`` rows through Django's e-mail backend (``settings.MAILERS``).

``deliveries_send`` takes due rows in batches (``NOTIFICATIONS_EMAIL_BATCH``), sends them over one
SMTP connection at most ``NOTIFICATIONS_EMAIL_RATE`` messages per second (0 = no limit) and
records each outcome: ``sent``; a transient refusal (4xx, or the relay unreachable) is retried
after 1, 2, 4, 8… minutes (``NOTIFICATIONS_EMAIL_MAX_ATTEMPTS`` attempts in all); a permanent
refusal (5xx) is ``failed`` with the SMTP answer kept. Messages are multipart/alternative
(text, then HTML), one recipient each.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.utils import timezone

from .models import Delivery, Newsletter

logger = logging.getLogger(__name__)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _answer(exc: BaseException, to: str) -> tuple[int | None, str]:
    """(SMTP code, answer) of a failure; code None for a connection problem."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = exc.recipients.get(to) or next(iter(exc.recipients.values()), (None, b""))
        return code, f"{code} {_decode(text)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code, f"{exc.smtp_code} {_decode(exc.smtp_error)}"
    return None, f"{type(exc).__name__}: {exc}"


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class UnfoldedMessage(EmailMultiAlternatives):
    """Header lines up to RFC 5322's 998 characters: Python's default folding turns a long
    unbreakable value (the List-Unsubscribe URL with its signed token) into RFC 2047 encoded
    words, which mail clients do not read as a URL."""

    def message(self, *, policy: Any = email.policy.default) -> Any:
        return super().message(policy=policy.clone(max_line_length=998))


def message_for(delivery: Delivery, connection: Any = None) -> EmailMultiAlternatives:
    message = UnfoldedMessage(
        subject=delivery.subject,
        body=delivery.text,
        to=[delivery.to],
        headers={"Content-Language": delivery.language, **(delivery.headers or {})},
        connection=connection,
    )
    message.attach_alternative(delivery.html, "text/html")
    return message


LEASE = timedelta(minutes=10)


def _due(limit: int) -> list[Delivery]:
    """Claim up to ``limit`` due rows: under the row locks their next attempt moves ``LEASE``
    ahead, so a second worker does not take them; the outcome overwrites it. Should this
    process die while sending, the rows are due again after the lease (at least once)."""
    now = timezone.now()
    query = Delivery.objects.filter(
        status=Delivery.Status.QUEUED, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")
    with transaction.atomic():
        # skip_locked: rows another worker is claiming right now are left to it (ignored where
        # unsupported; SQLite serialises writers anyway).
        batch = list(query.select_for_update(skip_locked=True)[:limit])
        Delivery.objects.filter(pk__in=[d.pk for d in batch]).update(next_attempt_at=now + LEASE)
    return batch


RECORDED_FIELDS = ["status", "attempts", "next_attempt_at", "last_answer", "sent_at"]


def _record(delivery: Delivery, exc: BaseException | None) -> None:
    """Set the outcome on the row (saved by the caller, a batch at a time)."""
    now = timezone.now()
    delivery.attempts += 1
    if exc is None:
        delivery.status = Delivery.Status.SENT
        delivery.sent_at = now
        delivery.last_answer = "250"
    else:
        code, answer = _answer(exc, delivery.to)
        delivery.last_answer = answer[:500]
        transient = code is None or 400 <= code < 500
        if transient and delivery.attempts < _setting("NOTIFICATIONS_EMAIL_MAX_ATTEMPTS", 5):
            delay = _setting("NOTIFICATIONS_EMAIL_RETRY_BASE_S", 60) * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        else:
            delivery.status = Delivery.Status.FAILED
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "last_answer", "sent_at"])


def deliveries_send(*, limit: int | None = None) -> dict[str, int]:
    """Send one batch of due deliveries; returns counts by outcome."""
    batch = _due(limit or _setting("NOTIFICATIONS_EMAIL_BATCH", 100))
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not batch:
        return counts
    rate = float(_setting("NOTIFICATIONS_EMAIL_RATE", 20))
    interval = 1.0 / rate if rate > 0 else 0.0
    connection = mailers.default  # a new connection of the configured backend (MAILERS)
    newsletters: set[int] = set()
    try:
        connection.open()
    except Exception as exc:  # relay unreachable: the whole batch waits for the next attempt
        for delivery in batch:
            _record(delivery, exc)
            counts["retry" if delivery.status == Delivery.Status.QUEUED else "failed"] += 1
        Delivery.objects.bulk_update(batch, RECORDED_FIELDS)
        return counts
    try:
        next_at = time.monotonic()
        for delivery in batch:
            if interval:
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                next_at = max(next_at, time.monotonic()) + interval
            error: BaseException | None = None
            try:
                message_for(delivery, connection).send()
            except (smtplib.SMTPException, OSError) as exc:
                error = exc
                if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                    connection.close()  # reopened by the next send
            _record(delivery, error)
            if delivery.status == Delivery.Status.SENT:
                counts["sent"] += 1
            elif delivery.status == Delivery.Status.QUEUED:
                counts["retry"] += 1
            else:
                counts["failed"] += 1
            if delivery.newsletter_id:
                newsletters.add(delivery.newsletter_id)
    finally:
        connection.close()
        # One write for the batch (not a commit per message): should the process die in the
        # middle, the batch's messages are sent again — at least once, never lost.
        with transaction.atomic():
            Delivery.objects.bulk_update(batch, RECORDED_FIELDS)
    for newsletter_id in newsletters:
        newsletter_finish_if_done(newsletter_id)
    return counts


def newsletter_finish_if_done(newsletter_id: int) -> None:
    pending = Delivery.objects.filter(
        newsletter_id=newsletter_id, status=Delivery.Status.QUEUED
    ).exists()
    if not pending:
        Newsletter.objects.filter(pk=newsletter_id, status=Newsletter.Status.SENDING).update(
            status=Newsletter.Status.SENT, finished_at=timezone.now()
        )
