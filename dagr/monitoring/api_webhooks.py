"""The webhook of a record set, for recipient systems (``auth=recipient_auth``; a provider
connection gets 403, a record set of another institution 404). Mounted in ``config/api.py``
under ``/record-sets``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status

from dagr.connections.auth import principal_of, recipient_auth
from dagr.core.errors import ValidationError
from dagr.core.pagination import ObjectId
from dagr.records.services import ConnectionActor

from . import deliveries
from .models import Delivery, Subscription

router = Router(tags=["webhooks"], auth=recipient_auth)


class WebhookIn(Schema):
    url: str
    status: str | None = None  # "active" to resume, "paused" to pause


class WebhookOut(Schema):
    record_set: int
    url: str
    status: str
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str


class SecretOut(Schema):
    secret: str


class DeliveryOut(Schema):
    id: int
    message_id: str
    status: str
    changes: int
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str


class DeliveriesOut(Schema):
    deliveries: list[DeliveryOut]
    next_cursor: str | None


def _actor(request: HttpRequest) -> ConnectionActor:
    return ConnectionActor.from_principal(principal_of(request))


def _out(subscription: Subscription) -> dict[str, Any]:
    return {
        "record_set": subscription.record_set_id,
        "url": subscription.url,
        "status": subscription.status,
        "consecutive_failures": subscription.consecutive_failures,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


def _delivery_out(delivery: Delivery) -> dict[str, Any]:
    return {
        name: getattr(delivery, name)
        for name in (
            "id", "message_id", "status", "changes", "attempts", "created_at", "delivered_at",
            "next_attempt_at", "last_status_code", "last_error",
        )
    }  # fmt: skip


@router.get("/{record_set_id}/webhook", response=WebhookOut, summary="The record set's webhook")
def webhook_get(request: HttpRequest, record_set_id: ObjectId) -> Any:
    """404 ``webhook_not_found`` when the record set has none."""
    return _out(deliveries.subscription_require(actor=_actor(request), record_set_id=record_set_id))


@router.put(
    "/{record_set_id}/webhook",
    response={200: WebhookOut, 201: WebhookCreatedOut},
    summary="Set the webhook URL (creates the webhook)",
)
def webhook_put(request: HttpRequest, record_set_id: ObjectId, body: WebhookIn) -> Any:
    """Creates the webhook (201, with its `secret`, shown only this once) or changes its URL
    (200). `status` pauses (`paused`) or resumes (`active`) it. The URL must be `https` and
    resolve to public addresses only (422 `webhook_url_not_allowed` / `webhook_url_invalid`).
    Deliveries are POSTs signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`)."""
    actor = _actor(request)
    subscription = deliveries.subscription_get(actor=actor, record_set_id=record_set_id)
    if subscription is None:
        subscription, secret = deliveries.subscription_create(
            actor=actor, record_set_id=record_set_id, url=body.url
        )
        if body.status == Subscription.Status.PAUSED:
            deliveries.subscription_pause(actor=actor, subscription=subscription)
        return Status(201, {**_out(subscription), "secret": secret})
    deliveries.subscription_update_url(actor=actor, subscription=subscription, url=body.url)
    if body.status == Subscription.Status.PAUSED:
        deliveries.subscription_pause(actor=actor, subscription=subscription)
    elif body.status == Subscription.Status.ACTIVE:
        deliveries.subscription_resume(actor=actor, subscription=subscription)
    return Status(200, _out(subscription))


@router.delete("/{record_set_id}/webhook", response={204: None}, summary="Delete the webhook")
def webhook_delete(request: HttpRequest, record_set_id: ObjectId) -> Any:
    actor = _actor(request)
    subscription = deliveries.subscription_require(actor=actor, record_set_id=record_set_id)
    deliveries.subscription_delete(actor=actor, subscription=subscription)
    return HttpResponse(status=204)


@router.post(
    "/{record_set_id}/webhook/rotate-secret",
    response=SecretOut,
    summary="Replace the webhook's signing secret",
)
def webhook_rotate_secret(request: HttpRequest, record_set_id: ObjectId) -> Any:
    """The new secret is shown only in this answer; the next attempt is signed with it."""
    actor = _actor(request)
    subscription = deliveries.subscription_require(actor=actor, record_set_id=record_set_id)
    return {"secret": deliveries.subscription_rotate_secret(actor=actor, subscription=subscription)}


@router.get(
    "/{record_set_id}/webhook/deliveries",
    response=DeliveriesOut,
    summary="The webhook's deliveries, newest first",
)
def webhook_deliveries(
    request: HttpRequest,
    record_set_id: ObjectId,
    cursor: str | None = Query(None, description="from `next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    subscription = deliveries.subscription_require(
        actor=_actor(request), record_set_id=record_set_id
    )
    if cursor and not (cursor.isdigit() and len(cursor) < 19):
        raise ValidationError(_("The cursor is not valid."), code="invalid_cursor")
    before = int(cursor) if cursor else None
    items, next_before = deliveries.deliveries_list(
        subscription=subscription, before=before, limit=limit
    )
    return {
        "deliveries": [_delivery_out(d) for d in items],
        "next_cursor": str(next_before) if next_before else None,
    }
