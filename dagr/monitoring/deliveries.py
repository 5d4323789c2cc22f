"""Webhook subscriptions of record sets and the delivery of their changes (``docs/change-feed.md``,
"Webhooks").

Services: ``subscription_create`` (returns the ``whsec_…`` secret once),
``subscription_update_url``, ``subscription_rotate_secret`` (returns the new secret once),
``subscription_pause``, ``subscription_resume``, ``subscription_delete``; reads:
``subscription_get``, ``deliveries_list``. Only recipient
representatives (portal) or recipient systems (API) of the record set's institution may see or
change a record set's webhook (``selectors.record_set_get``); anyone else gets ``NotFound``, as
for a missing record set.

Delivery (``subscription_dispatch``, run by the worker):

- One delivery in flight per subscription, strictly in order. If the subscription has an open
  (pending/retrying) delivery, that one is attempted when due; otherwise the next page of the
  record set's feed after ``subscription.cursor`` is read and, if it has changes, becomes a new
  ``Delivery`` whose JSON body is built once and stored, so every retry sends identical bytes
  under the same ``webhook-id`` (a fresh timestamp and signature per attempt).
- 2xx: delivered, the subscription's cursor moves to the delivery's ``cursor_to``. Anything else
  (status, network error, refused address): retried after ``backoff_seconds`` (5 s · 2^(n-1),
  at most 1 h, plus up to 10 % jitter) through a task with ``run_after``; after
  ``MAX_ATTEMPTS`` consecutive failures the delivery is ``failed`` and the subscription
  ``suspended``; resuming it retries the same delivery.
- A run handles at most ``MAX_STEPS_PER_RUN`` deliveries/pages, then enqueues itself again.

Concurrency: several workers (and several tasks for one subscription: every load enqueues one)
may run ``subscription_dispatch`` for the same subscription at once. Every decision is taken in a
short transaction that first locks the subscription row (``select_for_update``; on SQLite the
``BEGIN IMMEDIATE`` transaction holds the database's single write lock, which serialises the
same way). The HTTP POST itself runs outside any transaction (holding SQLite's write lock for
up to 15 s would stall every writer); instead the sender takes a *lease*: in the locked
transaction it sets the delivery's ``next_attempt_at`` to now + ``LEASE_S``, so every other run
sees the delivery as not yet due and leaves it alone. The outcome is recorded only if the
delivery's attempt count is still the one the lease was taken at. A worker that dies while
sending leaves the lease to expire; the task enqueued with the lease (``run_after`` = its end)
then picks the delivery up again. Reading the feed also happens outside the lock; the page is
used only if the subscription's cursor has not moved meanwhile.

Feed errors: ``cursor_outdated`` (the record set's or the grant's terms changed) starts the
subscription again from the beginning of the feed; any other (grant revoked or expired, record
set gone) suspends it. Both are shown as a failed delivery with no changes.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create
from dagr.core import crypto
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, DomainError, NotFound
from dagr.retrieval.services import Caller

from . import delivery_errors, selectors, webhooks
from .models import Delivery, RecordSet, Subscription
from .services import record_set_changes

MAX_ATTEMPTS = 15
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 3600.0
BACKOFF_JITTER = 0.1
LEASE_S = 60  # > connect (5 s) + read (10 s) timeouts, with room for a slow DNS answer
PAGE_SIZE = 500
MAX_STEPS_PER_RUN = 20
OPEN = (Delivery.Status.PENDING, Delivery.Status.RETRYING)
MESSAGE_TYPE = "record_set.changes"


# --- reads --------------------------------------------------------------------------------------


def subscription_get(*, actor: Actor, record_set_id: int) -> Subscription | None:
    """The record set's subscription, or ``None`` when it has none."""
    record_set = selectors.record_set_get(actor=actor, pk=record_set_id)
    subscription = Subscription.objects.filter(record_set=record_set).first()
    if subscription is not None:
        subscription.record_set = record_set
    return subscription


def subscription_require(*, actor: Actor, record_set_id: int) -> Subscription:
    subscription = subscription_get(actor=actor, record_set_id=record_set_id)
    if subscription is None:
        raise NotFound(_("This record set has no webhook."), code="webhook_not_found")
    return subscription


def deliveries_list(
    *, subscription: Subscription, before: int | None = None, limit: int = 50
) -> tuple[list[Delivery], int | None]:
    """The newest deliveries first; the second value is the ``before`` of the next page."""
    query = Delivery.objects.filter(subscription=subscription).defer("payload")
    if before:
        query = query.filter(pk__lt=before)
    items = list(query.order_by("-id")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].pk if more and items else None)


# --- management ---------------------------------------------------------------------------------


def _audit(action: str, *, actor: Actor | None, subscription: Subscription, **changes: Any) -> None:
    admin_entry_create(
        action=f"monitoring.subscription.{action}",
        actor=actor,
        target=subscription,
        target_label=f"{subscription.record_set.name}: {subscription.url}"[:255],
        institution_id=subscription.record_set.institution_id,
        changes=changes or None,
    )


def _actor_label(actor: Actor) -> str:
    return str(actor)[:255]


def subscription_create(*, actor: Actor, record_set_id: int, url: str) -> tuple[Subscription, str]:
    """A webhook for the record set, sending from the beginning of its feed. Returns the
    subscription and its secret (shown once; stored only encrypted)."""
    record_set = selectors.record_set_get(actor=actor, pk=record_set_id)
    target = webhooks.url_check(url)
    secret = webhooks.secret_new()
    with transaction.atomic():
        if Subscription.objects.filter(record_set=record_set).exists():
            raise Conflict(_("This record set already has a webhook."), code="webhook_exists")
        subscription = Subscription.objects.create(
            record_set=record_set,
            url=target.url,
            secret_encrypted=crypto.encrypt(secret),
            created_by_label=_actor_label(actor),
        )
        _audit("created", actor=actor, subscription=subscription, url=[None, target.url])
        enqueue_dispatch(subscription.pk)
    return subscription, secret


def subscription_update_url(*, actor: Actor, subscription: Subscription, url: str) -> Subscription:
    """A new endpoint; open and later deliveries go there (same secret, same order)."""
    target = webhooks.url_check(url)
    with transaction.atomic():
        old = subscription.url
        if old == target.url:
            return subscription
        subscription.url = target.url
        subscription.save(update_fields=["url", "updated_at"])
        _audit("url_changed", actor=actor, subscription=subscription, url=[old, target.url])
    return subscription


def subscription_rotate_secret(*, actor: Actor, subscription: Subscription) -> str:
    """A new secret replaces the old one at once (the next attempt is signed with it)."""
    secret = webhooks.secret_new()
    with transaction.atomic():
        subscription.secret_encrypted = crypto.encrypt(secret)
        subscription.save(update_fields=["secret_encrypted", "updated_at"])
        _audit("secret_rotated", actor=actor, subscription=subscription, secret=["***", "***"])
    return secret


def subscription_pause(*, actor: Actor, subscription: Subscription) -> Subscription:
    """Nothing is sent while paused; changes wait in the feed and follow on resume."""
    if subscription.status == Subscription.Status.PAUSED:
        return subscription
    with transaction.atomic():
        old = subscription.status
        subscription.status = Subscription.Status.PAUSED
        subscription.save(update_fields=["status", "updated_at"])
        _audit("paused", actor=actor, subscription=subscription, status=[old, "paused"])
    return subscription


def subscription_resume(*, actor: Actor, subscription: Subscription) -> Subscription:
    """Active again; a delivery that failed (suspension) is retried first, with new attempts."""
    if subscription.status == Subscription.Status.ACTIVE:
        return subscription
    with transaction.atomic():
        old = subscription.status
        subscription.status = Subscription.Status.ACTIVE
        subscription.consecutive_failures = 0
        subscription.save(update_fields=["status", "consecutive_failures", "updated_at"])
        last = Delivery.objects.filter(subscription=subscription).order_by("-id").first()
        if (
            last is not None
            and last.status == Delivery.Status.FAILED
            and last.payload
            and last.cursor_from == subscription.cursor
        ):
            last.status = Delivery.Status.RETRYING
            last.next_attempt_at = timezone.now()
            last.save(update_fields=["status", "next_attempt_at"])
        _audit("resumed", actor=actor, subscription=subscription, status=[old, "active"])
        enqueue_dispatch(subscription.pk)
    return subscription


def subscription_delete(*, actor: Actor, subscription: Subscription) -> None:
    with transaction.atomic():
        _audit("deleted", actor=actor, subscription=subscription, url=[subscription.url, None])
        subscription.delete()


# --- dispatch -----------------------------------------------------------------------------------


def enqueue_dispatch(subscription_id: int, *, run_after: datetime | None = None) -> None:
    """Queue a dispatch run. A delayed run is skipped on a backend without ``run_after``
    (Django's immediate backend): it would run at once, inside the caller."""
    # tasks.py imports this module, so a top-level import of it would be an import cycle
    from .tasks import subscription_dispatch_task

    task = subscription_dispatch_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return
        task = task.using(run_after=run_after)
    task.enqueue(subscription_id=subscription_id)


def dispatch_for_dataset(dataset_id: int) -> int:
    """Queue a run for every active subscription of the dataset's record sets (after a load)."""
    ids = list(
        Subscription.objects.filter(
            record_set__dataset_id=dataset_id, status=Subscription.Status.ACTIVE
        ).values_list("pk", flat=True)
    )
    for subscription_id in ids:
        enqueue_dispatch(subscription_id)
    return len(ids)


def backoff_seconds(failures: int, *, jitter: float | None = None) -> float:
    """Delay before the next attempt after ``failures`` consecutive failures (≥ 1)."""
    base = min(BACKOFF_BASE_S * 2 ** max(failures - 1, 0), BACKOFF_MAX_S)
    share = random.uniform(0, BACKOFF_JITTER) if jitter is None else jitter  # noqa: S311
    return min(base * (1 + share), BACKOFF_MAX_S)


@dataclass(frozen=True)
class _Read:
    record_set_id: int
    institution_id: int
    dataset_code: str
    cursor: str


@dataclass(frozen=True)
class _Send:
    delivery_id: int
    attempts_before: int
    url: str
    secret_encrypted: str
    message_id: str
    payload: str


_AGAIN = "again"


def _locked(subscription_id: int) -> Subscription | None:
    return Subscription.objects.select_for_update().filter(pk=subscription_id).first()


def _lease(subscription: Subscription, delivery: Delivery, now: datetime) -> _Send:
    delivery.next_attempt_at = now + timedelta(seconds=LEASE_S)
    delivery.save(update_fields=["next_attempt_at"])
    # Picks the delivery up again if this worker dies while sending (a no-op otherwise).
    enqueue_dispatch(subscription.pk, run_after=delivery.next_attempt_at)
    return _Send(
        delivery_id=delivery.pk,
        attempts_before=delivery.attempts,
        url=subscription.url,
        secret_encrypted=subscription.secret_encrypted,
        message_id=delivery.message_id,
        payload=delivery.payload,
    )


def _next_step(subscription_id: int) -> _Read | _Send | None:
    with transaction.atomic():
        subscription = _locked(subscription_id)
        if subscription is None or subscription.status != Subscription.Status.ACTIVE:
            return None
        delivery = (
            Delivery.objects.filter(subscription=subscription, status__in=OPEN)
            .order_by("id")
            .first()
        )
        if delivery is None:
            record_set = RecordSet.objects.select_related("dataset").get(
                pk=subscription.record_set_id
            )
            return _Read(
                record_set_id=record_set.pk,
                institution_id=record_set.institution_id,
                dataset_code=record_set.dataset.code,
                cursor=subscription.cursor,
            )
        now = timezone.now()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None  # a retry is scheduled, or another run is sending it right now
        return _lease(subscription, delivery, now)


def _read_page(subscription_id: int, step: _Read) -> Any:
    caller = Caller(institution_id=step.institution_id, label=f"webhook {subscription_id}")
    return record_set_changes(
        caller=caller, record_set_id=step.record_set_id, cursor=step.cursor or None,
        limit=PAGE_SIZE,
    )  # fmt: skip


def _body(step: _Read, page: Any, *, reset: bool) -> str:
    document = {
        "type": MESSAGE_TYPE,
        "record_set": step.record_set_id,
        "dataset": step.dataset_code,
        "reset": reset,
        "changes": page.changes,
        "next_cursor": page.next_cursor,
    }
    return orjson.dumps(document).decode()


def _store_page(subscription_id: int, step: _Read, page: Any) -> _Send | str | None:
    with transaction.atomic():
        subscription = _locked(subscription_id)
        if subscription is None or subscription.status != Subscription.Status.ACTIVE:
            return None
        moved = subscription.cursor != step.cursor
        if moved or Delivery.objects.filter(subscription=subscription, status__in=OPEN).exists():
            return _AGAIN  # another run got here first: start over from the current state
        if page.changes:
            delivery = Delivery.objects.create(
                subscription=subscription,
                message_id=f"msg_{uuid.uuid4().hex}",
                cursor_from=step.cursor,
                cursor_to=page.next_cursor,
                changes=len(page.changes),
                payload=_body(step, page, reset=subscription.reset_pending),
            )
            if subscription.reset_pending:
                subscription.reset_pending = False
                subscription.save(update_fields=["reset_pending", "updated_at"])
            return _lease(subscription, delivery, timezone.now())
        if page.next_cursor and page.next_cursor != subscription.cursor:
            subscription.cursor = page.next_cursor  # nothing for this set in the entries read
            subscription.save(update_fields=["cursor", "updated_at"])
        return _AGAIN if page.has_more else None


# Feed errors that pass by themselves: the subscription waits and tries again (no suspension).
AUDIT_RETRY_S = 60


def _transient_retry_at(code: str) -> datetime | None:
    """When to try again after a passing feed error: the day's quota is used up (next local
    day) or the access could not be audited (a minute); ``None`` for the others."""
    if code == "quota_exceeded":
        tomorrow = timezone.localdate() + timedelta(days=1)
        return timezone.make_aware(datetime.combine(tomorrow, datetime.min.time())) + timedelta(
            minutes=1
        )
    if code == "audit_unavailable":
        return timezone.now() + timedelta(seconds=AUDIT_RETRY_S)
    return None


def _feed_failed(subscription_id: int, step: _Read, exc: DomainError) -> bool:
    """Record a feed error as a failed delivery without changes. ``cursor_outdated`` restarts
    the subscription from the beginning of the feed (True: carry on); a passing error (quota
    used up for today, audit unavailable) leaves it active and queues a later run (one marker
    per spell, not one per attempt); others suspend it."""
    restart = exc.code == "cursor_outdated"
    retry_at = _transient_retry_at(exc.code)
    with transaction.atomic():
        subscription = _locked(subscription_id)
        if subscription is None or subscription.cursor != step.cursor:
            return False
        marker = delivery_errors.feed_error(exc.code, exc.message)
        if retry_at is not None:
            last = subscription.deliveries.order_by("-id").first()
            if last is None or last.changes or last.last_error != marker:
                Delivery.objects.create(
                    subscription=subscription,
                    message_id=f"msg_{uuid.uuid4().hex}",
                    cursor_from=step.cursor,
                    cursor_to="",
                    changes=0,
                    payload="",
                    status=Delivery.Status.FAILED,
                    last_error=marker,
                )
            transaction.on_commit(lambda: enqueue_dispatch(subscription_id, run_after=retry_at))
            return False
        Delivery.objects.create(
            subscription=subscription,
            message_id=f"msg_{uuid.uuid4().hex}",
            cursor_from=step.cursor,
            cursor_to="",
            changes=0,
            payload="",
            status=Delivery.Status.FAILED,
            last_error=delivery_errors.feed_error(exc.code, exc.message),
        )
        if restart:
            subscription.cursor = ""
            subscription.reset_pending = True
            subscription.save(update_fields=["cursor", "reset_pending", "updated_at"])
        else:
            subscription.status = Subscription.Status.SUSPENDED
            subscription.save(update_fields=["status", "updated_at"])
            _audit("suspended", actor=None, subscription=subscription, reason=exc.code)
    return restart


def _send(step: _Send) -> webhooks.PostResult:
    try:
        secret = crypto.decrypt(step.secret_encrypted)
    except crypto.DecryptionFailed:
        return webhooks.PostResult(ok=False, error=delivery_errors.SECRET_UNREADABLE)
    return webhooks.webhook_post(
        url=step.url, secret=secret, message_id=step.message_id, body=step.payload
    )


def _record_outcome(subscription_id: int, step: _Send, result: webhooks.PostResult) -> bool:
    """Store the attempt's outcome; True when the next delivery may follow at once."""
    with transaction.atomic():
        subscription = _locked(subscription_id)
        delivery = Delivery.objects.filter(
            pk=step.delivery_id, subscription_id=subscription_id
        ).first()
        if subscription is None or delivery is None:
            return False  # deleted meanwhile
        if delivery.attempts != step.attempts_before or delivery.status not in OPEN:
            return False  # the lease ran out and another run took the delivery over
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = result.status_code
        fields = ["attempts", "last_status_code", "status", "next_attempt_at", "last_error"]
        if result.ok:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.next_attempt_at = None
            delivery.last_error = ""
            delivery.delivered_at = now
            delivery.save(update_fields=[*fields, "delivered_at"])
            subscription.cursor = delivery.cursor_to
            subscription.consecutive_failures = 0
            subscription.save(update_fields=["cursor", "consecutive_failures", "updated_at"])
            return True
        delivery.last_error = delivery_errors.attempt_error(result.error, result.status_code)
        subscription.consecutive_failures += 1
        sub_fields = ["consecutive_failures", "updated_at"]
        if subscription.consecutive_failures >= MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
            delivery.next_attempt_at = None
            subscription.status = Subscription.Status.SUSPENDED
            sub_fields.append("status")
        else:
            delivery.status = Delivery.Status.RETRYING
            delay = backoff_seconds(subscription.consecutive_failures)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            enqueue_dispatch(subscription_id, run_after=delivery.next_attempt_at)
        delivery.save(update_fields=fields)
        subscription.save(update_fields=sub_fields)
        if subscription.status == Subscription.Status.SUSPENDED:
            _audit(
                "suspended",
                actor=None,
                subscription=subscription,
                reason=f"{MAX_ATTEMPTS} failed attempts",
            )
        return False


def subscription_dispatch(subscription_id: int, *, max_steps: int = MAX_STEPS_PER_RUN) -> int:
    """Deliver what is due for one subscription, in order; returns the number of deliveries
    that succeeded in this run. Safe to run concurrently for the same subscription."""
    delivered = 0
    for _step in range(max_steps):
        step = _next_step(subscription_id)
        if step is None:
            return delivered
        if isinstance(step, _Read):
            try:
                page = _read_page(subscription_id, step)
            except DomainError as exc:
                if _feed_failed(subscription_id, step, exc):
                    continue
                return delivered
            stored = _store_page(subscription_id, step, page)
            if stored is None:
                return delivered
            if stored == _AGAIN:
                continue
            assert isinstance(stored, _Send)
            step = stored
        result = _send(step)
        if not _record_outcome(subscription_id, step, result):
            return delivered
        delivered += 1
    enqueue_dispatch(subscription_id)  # more may be waiting: continue in a fresh run
    return delivered
