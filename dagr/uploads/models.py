"""Uploaded data files (DU-10): the stored file, its preview and its load."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UploadedFile(models.Model):
    """A data file a provider uploaded for a dataset, with its preview and its load.

    Status: uploaded (being checked) → previewed (or invalid) → queued → loading → loaded or
    failed; cancelled by the user before the load. While a check or a load runs, its live
    progress is in a small file next to the stored file (the load runs in one transaction that
    no other connection can see into); ``rows_done`` / ``rows_total`` keep the final numbers.
    """

    class Mode(models.TextChoices):
        UPSERT = "upsert", _("add and update records")
        SNAPSHOT = "snapshot", _("full snapshot (records not in the file are deleted)")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("received, being checked")
        PREVIEWED = "previewed", _("checked, waiting for confirmation")
        INVALID = "invalid", _("has errors, not loaded")
        QUEUED = "queued", _("queued")
        LOADING = "loading", _("loading")
        LOADED = "loaded", _("loaded")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="uploads",
        verbose_name=_("dataset"),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    original_name = models.CharField(_("file name"), max_length=255)
    stored_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    file_format = models.CharField(_("format"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=20, default="auto")
    delimiter = models.CharField(_("delimiter"), max_length=5, default="auto")
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    load = models.ForeignKey(
        "records.Load", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rows_total = models.PositiveIntegerField(_("records in the file"), default=0)
    rows_done = models.PositiveIntegerField(_("records loaded"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("uploaded file")
        verbose_name_plural = _("uploaded files")

    def __str__(self) -> str:
        return self.original_name
