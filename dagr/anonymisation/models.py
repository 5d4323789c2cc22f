"""Anonymised test datasets (DU-1): the provider's settings, the releases and the test datasets.

- ``TestDataSettings``: one per source dataset — the provider's rule overrides (by field path;
  fields without an override get ``default_rules(schema)``), the quasi-identifiers of the privacy
  report, the sensitive fields (l-diversity) and the required k.
- ``Release``: one build of anonymised data for one or more datasets (built together so that
  joins between them survive). The release key — 32 random bytes from ``secrets`` — lives only
  in the worker's memory while it builds; only its fingerprint (a SHA-256 prefix) is stored, so
  nobody can re-derive the mapping and two releases cannot be linked.
- ``ReleaseDataset``: one dataset of a release: its source, its test dataset, how many records
  and where the NDJSON output is (Django's default storage, ``testdata/<release>/<code>.ndjson``).
- ``TestDataset``: links a source dataset to its test dataset — a real catalogue ``Dataset``
  (status sandbox, code ``<source>-test``, same provider and schema) that the publish step loads
  by snapshot, so downloads, the public API and sandbox grants all read the same records.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TestDataSettings(models.Model):
    __test__ = False  # not a pytest test class, despite the name
    dataset = models.OneToOneField(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="test_data_settings",
        verbose_name=_("dataset"),
    )
    # {"<field path>": {"kind": …, "params": {…}}}: only the fields the provider changed
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    # [{"dataset": code, "path": field path, "level": "year"|…}]
    quasi_identifiers = models.JSONField(_("quasi-identifiers"), default=list, blank=True)
    sensitive = models.JSONField(_("sensitive fields"), default=list, blank=True)  # [path, …]
    k = models.PositiveIntegerField(_("k (smallest group)"), default=5)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("test data settings")
        verbose_name_plural = _("test data settings")

    def __str__(self) -> str:
        return str(self.dataset_id)


class Release(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being built")
        REFUSED = "refused", _("refused by the privacy check")
        FAILED = "failed", _("failed")
        PUBLISHED = "published", _("published")
        SUPERSEDED = "superseded", _("superseded by a newer release")

    number = models.PositiveIntegerField(_("release number"), unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    phase = models.CharField(_("phase"), max_length=20, blank=True)
    done = models.PositiveBigIntegerField(_("records done"), default=0)
    total = models.PositiveBigIntegerField(_("records in total"), default=0)
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=16, blank=True)
    k = models.PositiveIntegerField(_("k required"), default=5)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_label = models.CharField(_("requested by"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    report = models.JSONField(_("privacy report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    datasets = models.ManyToManyField(
        "catalog.Dataset",
        through="ReleaseDataset",
        through_fields=("release", "source"),
        related_name="+",
        verbose_name=_("datasets"),
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("test data release")
        verbose_name_plural = _("test data releases")

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class ReleaseDataset(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="items")
    source = models.ForeignKey(
        "catalog.Dataset", on_delete=models.CASCADE, related_name="+", verbose_name=_("dataset")
    )
    test_dataset = models.ForeignKey(
        "catalog.Dataset",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("test dataset"),
    )
    position = models.PositiveSmallIntegerField(default=0)
    records = models.PositiveBigIntegerField(_("records"), default=0)
    storage_path = models.CharField(_("output file"), max_length=255, blank=True)
    # the rules this release applied, by field path (documentation of the published data)
    rules = models.JSONField(_("rules"), default=dict, blank=True)

    class Meta:
        ordering = ["release", "position"]
        constraints = [
            models.UniqueConstraint(fields=["release", "source"], name="anon_release_dataset_once")
        ]

    def __str__(self) -> str:
        return f"{self.release_id}:{self.source_id}"


class TestDataset(models.Model):
    __test__ = False  # not a pytest test class, despite the name
    source = models.OneToOneField(
        "catalog.Dataset", on_delete=models.CASCADE, related_name="test_link"
    )
    target = models.OneToOneField(
        "catalog.Dataset", on_delete=models.CASCADE, related_name="test_source_link"
    )
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # the release now published in ``target``
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("test dataset")
        verbose_name_plural = _("test datasets")

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}"
