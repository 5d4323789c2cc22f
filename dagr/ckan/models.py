"""The CKAN sync's state: one portal configuration per institution (``PortalConfig``), one
publication per dataset (``Publication``: wanted state, status, CKAN ids, field errors) and its
log (``SyncLogEntry``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortalConfig(models.Model):
    """Where an institution's datasets are published: the CKAN base URL, the organisation's
    name there and an API token of an editor of it (encrypted with ``dagr.core.crypto``)."""

    institution = models.OneToOneField(
        "accounts.Institution", on_delete=models.CASCADE, related_name="ckan_config"
    )
    base_url = models.URLField(_("portal address"), max_length=500)
    organization = models.CharField(_("organisation name in the portal"), max_length=100)
    token_encrypted = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("open data portal settings")

    def __str__(self) -> str:
        return f"{self.organization} @ {self.base_url}"

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)


class Publication(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        RETRYING = "retrying", _("portal unavailable, will retry")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")
        UNPUBLISHED = "unpublished", _("withdrawn from the portal")

    dataset = models.OneToOneField(
        "catalog.Dataset", on_delete=models.CASCADE, related_name="ckan_publication"
    )
    wanted = models.BooleanField(default=True)  # published (True) or withdrawn (False)
    package_name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    package_id = models.CharField(max_length=100, blank=True)
    resource_ids = models.JSONField(default=dict, blank=True)  # distribution IRI → resource id
    field_errors = models.JSONField(default=dict, blank=True)  # CKAN field → messages
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive transient failures
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(default=0)  # bumped by every request to sync
    # A running sync's claim (services.publication_sync): one run per publication at a time,
    # in every process and worker; a claim older than ``sync_lease_until`` is abandoned.
    sync_lease = models.CharField(max_length=32, blank=True)
    sync_lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.package_name


class SyncLogEntry(models.Model):
    class Outcome(models.TextChoices):
        CREATED = "created", _("created in the portal")
        UPDATED = "updated", _("updated in the portal")
        UNCHANGED = "unchanged", _("already up to date")
        DELETED = "deleted", _("marked deleted in the portal")
        REJECTED = "rejected", _("rejected by the portal")
        RETRY = "retry", _("portal unavailable, retry scheduled")
        FAILED = "failed", _("failed")

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    requests = models.PositiveIntegerField(default=0)
    changes = models.JSONField(default=list, blank=True)  # e.g. ["package", "resource created"]
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["publication", "-at"])]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.outcome} {self.at:%Y-%m-%d %H:%M:%S}"
