"""Audit trails. This app imports no other DAGR app: actors and targets are stored as ids and
labels, so an entry stays readable even after the user or object it names is gone.

- ``AdminEntry``: every administrative change (users, roles, institutions, datasets, schemas…).
- The data-access audit (issue "retrieval API") will live here too, with its hash chain.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdminEntry(models.Model):
    at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)  # dotted name
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor_label = models.CharField(_("actor"), max_length=255, blank=True)
    institution_id = models.BigIntegerField(_("institution id"), null=True, blank=True)
    target_type = models.CharField(_("object type"), max_length=100)
    target_id = models.CharField(_("object id"), max_length=100, blank=True)
    target_label = models.CharField(_("object"), max_length=255, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["institution_id", "at"]),
        ]
        verbose_name = _("administrative audit entry")
        verbose_name_plural = _("administrative audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_label}"
