"""Change monitoring (DU-2): record sets a recipient watches, and webhook subscriptions that
push a record set's changes to the recipient.

- ``RecordSet``: one recipient institution's watch list over one dataset, under one of its
  grants. Membership = (no identifier list, or the record has one of the listed values in
  ``identifier_field``) AND (the record satisfies ``conditions``, same language as grants). The
  record set's change feed is the grant's change feed narrowed by that membership (see
  ``dagr.retrieval.changes``): a record that enters the set appears as created, one that leaves
  it as deleted.
- ``RecordSetIdentifier``: the watched identifier values (up to hundreds of thousands per set).
- ``Subscription``: a record set's webhook (Standard Webhooks signing; the secret encrypted at
  rest); ``cursor`` is the feed position after the last delivered change.
- ``Delivery``: one signed POST of a page of changes, with its attempts and outcome; retries
  reuse the same ``message_id`` and body, as Standard Webhooks asks.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from dagr.core.models import TimeStampedModel


class RecordSet(TimeStampedModel):
    institution = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.CASCADE,
        related_name="record_sets",
        verbose_name=_("recipient"),
    )
    grant = models.ForeignKey(
        "grants.Grant",
        on_delete=models.CASCADE,
        related_name="record_sets",
        verbose_name=_("access grant"),
    )
    # A copy of grant.dataset, for filtering and for the change feed's dataset lookups.
    dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="record_sets",
        verbose_name=_("dataset"),
    )
    name = models.CharField(_("name"), max_length=200)
    # The identifier field path the watched values belong to (``personal_code``,
    # ``board_members.personal_code``); empty when the set has no identifier list.
    identifier_field = models.CharField(_("identifier field"), max_length=255, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    identifier_count = models.PositiveIntegerField(_("watched identifiers"), default=0)
    # Bumped whenever the watched identifiers change (per-process caches key on it).
    revision = models.PositiveIntegerField(default=1)
    created_by_label = models.CharField(_("created by"), max_length=255, blank=True)

    class Meta:
        ordering = ["institution", "name", "id"]
        verbose_name = _("record set")
        verbose_name_plural = _("record sets")

    def __str__(self) -> str:
        return self.name


class RecordSetIdentifier(models.Model):
    record_set = models.ForeignKey(
        RecordSet, on_delete=models.CASCADE, related_name="identifiers", db_index=False
    )
    value = models.CharField(_("value"), max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["record_set", "value"], name="monitoring_recordset_identifier_unique"
            )
        ]
        verbose_name = _("watched identifier")
        verbose_name_plural = _("watched identifiers")

    def __str__(self) -> str:
        return self.value


class RecordSetEvent(models.Model):
    """A watched value added to or removed from a record set, at a position of the dataset's
    change log (the last entry written before it): the set's feed reports its records there as
    ``created`` (added) or ``deleted`` (removed), see ``record_set_feed``."""

    record_set = models.ForeignKey(
        RecordSet, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    position = models.BigIntegerField(_("change log position"))
    value = models.CharField(_("value"), max_length=255)
    added = models.BooleanField(_("added"))
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["record_set", "id"], name="monitoring_rs_event_order")]
        verbose_name = _("watched value change")
        verbose_name_plural = _("watched value changes")

    def __str__(self) -> str:
        return f"{'+' if self.added else '-'}{self.value}"


class Subscription(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        PAUSED = "paused", _("paused")
        SUSPENDED = "suspended", _("suspended after failures")

    record_set = models.OneToOneField(
        RecordSet,
        on_delete=models.CASCADE,
        related_name="subscription",
        verbose_name=_("record set"),
    )
    url = models.URLField(_("endpoint URL"), max_length=500)
    # Fernet token of the whsec_… secret (dagr.core.crypto); shown to the recipient once.
    secret_encrypted = models.TextField()
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    # The feed position after the last delivered change ("" = from the subscription's start).
    cursor = models.CharField(max_length=200, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # The next delivery starts the record set's feed from its beginning (the first one, and the
    # first after the terms changed): it carries ``"reset": true`` so the receiver replaces what
    # it holds for the set instead of merging (records that left the set are not re-announced).
    reset_pending = models.BooleanField(default=True)
    created_by_label = models.CharField(_("created by"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        RETRYING = "retrying", _("retrying")
        SUCCEEDED = "succeeded", _("delivered")
        FAILED = "failed", _("failed")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(_("message id"), max_length=64, unique=True)
    cursor_from = models.CharField(max_length=200, blank=True)
    cursor_to = models.CharField(max_length=200)
    changes = models.PositiveIntegerField(_("changes"), default=0)
    payload = models.TextField()
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["subscription", "-id"], name="monitoring_delivery_sub")]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"
