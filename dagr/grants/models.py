"""Access grants (DU-7): one recipient institution's access to one dataset — which fields, and
conditions on record values (``dagr.grants.conditions``) that every returned record satisfies.

The request and the decision are kept apart: ``requested_fields`` / ``requested_conditions`` hold
what the recipient asked for, ``fields`` / ``conditions`` what the provider approved (a subset of
the fields; the requested conditions plus any the provider added), so narrowing stays visible.

``status`` is stored (requested / approved / rejected / revoked); "expired" is computed from
``valid_until`` (see ``Grant.effective_status``). ``quota`` is the number of API requests the
recipient may make under the grant per calendar day (local time, ``TIME_ZONE``); ``GrantUsage``
counts them per day for such grants. Use counts of every grant come from the access audit
(``dagr.audit.access_selectors.grant_use_counts``).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.core.models import TimeStampedModel


class Grant(TimeStampedModel):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        REVOKED = "revoked", _("revoked")

    # Computed states shown next to the stored ones.
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    EFFECTIVE_LABELS = {
        EXPIRED: _("expired"),
        NOT_YET_VALID: _("not yet valid"),
    }

    recipient = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("recipient"),
    )
    dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("dataset"),
    )
    requested_fields = models.JSONField(_("requested fields"), default=list)
    requested_conditions = models.JSONField(_("requested conditions"), default=list)
    fields = models.JSONField(_("approved fields"), default=list, blank=True)
    conditions = models.JSONField(_("approved conditions"), default=list, blank=True)
    legal_basis = models.TextField(_("legal basis"))
    purpose = models.TextField(_("purpose"))
    permission_number = models.CharField(
        _("permission number"), max_length=100, blank=True, default=""
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    quota = models.PositiveIntegerField(_("requests per day"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.REQUESTED,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "permission_number"],
                condition=~Q(permission_number=""),
                name="grants_permission_number_unique",
            )
        ]
        indexes = [models.Index(fields=["recipient", "dataset"], name="grants_recipient_dataset")]
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")

    def __str__(self) -> str:
        number = self.permission_number or f"#{self.pk}"
        return f"{number} — {self.dataset_id} → {self.recipient_id}"

    def effective_status(self, today: date | None = None) -> str:
        """The stored status, or ``expired`` / ``not_yet_valid`` for an approved grant outside
        its validity period (dates inclusive, local time)."""
        if self.status != self.Status.APPROVED:
            return self.status
        today = today or timezone.localdate()
        if self.valid_until is not None and today > self.valid_until:
            return self.EXPIRED
        if self.valid_from is not None and today < self.valid_from:
            return self.NOT_YET_VALID
        return self.status

    @property
    def effective_status_label(self) -> str:
        status = self.effective_status()
        if status in self.EFFECTIVE_LABELS:
            return str(self.EFFECTIVE_LABELS[status])
        return str(self.Status(status).label)

    @property
    def is_narrowed(self) -> bool:
        """Approved (now or before a revocation) with fewer fields or more conditions than were
        requested."""
        if not self.fields:
            return False
        return self.fields != self.requested_fields or self.conditions != self.requested_conditions


class GrantUsage(models.Model):
    """API requests made under a grant on one day (local date): the daily quota counter."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("requests"), default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grant", "day"], name="grants_usage_grant_day")
        ]
        verbose_name = _("grant usage")
        verbose_name_plural = _("grant usage")

    def __str__(self) -> str:
        return f"{self.grant_id} {self.day}: {self.count}"
