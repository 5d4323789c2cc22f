"""Datasets and their versioned schemas.

A schema is a JSON document (see ``dagr.catalog.schema`` for its typed form) stored in
``SchemaVersion``; ``Dataset.schema`` points at the current version. Old versions stay for
history and for the records stored under them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dagr.core.models import TimeStampedModel

DATASET_CODE_RE = r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$"


class Dataset(TimeStampedModel):
    class Status(models.TextChoices):
        SANDBOX = "sandbox", _("sandbox")
        PRODUCTION = "production", _("production")
        RETIRED = "retired", _("retired")

    provider = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.PROTECT,
        related_name="datasets",
        verbose_name=_("provider"),
    )
    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        validators=[
            RegexValidator(
                DATASET_CODE_RE,
                _("Use 3–64 lowercase letters, digits and hyphens, starting with a letter."),
            )
        ],
    )
    title_lv = models.CharField(_("title (Latvian)"), max_length=255)
    title_en = models.CharField(_("title (English)"), max_length=255)
    description_lv = models.TextField(_("description (Latvian)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SANDBOX, db_index=True
    )
    schema = models.ForeignKey(
        "SchemaVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current schema"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    @property
    def title(self) -> str:
        return self.title_en if (get_language() or "lv").startswith("en") else self.title_lv

    @property
    def description(self) -> str:
        if (get_language() or "lv").startswith("en"):
            return self.description_en or self.description_lv
        return self.description_lv or self.description_en


class SchemaVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="schema_versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    note = models.CharField(_("change note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="schema_version_unique")
        ]
        verbose_name = _("schema version")
        verbose_name_plural = _("schema versions")

    def __str__(self) -> str:
        return f"{self.dataset.code} v{self.number}"
