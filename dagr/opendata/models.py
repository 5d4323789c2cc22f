"""Open data metadata: what a dataset's DCAT-AP 3.0.1 description needs beyond what the catalogue
already knows (the catalogue keeps code, title lv/en, description lv/en, provider, status and
dates), and reusable templates of the fields institutions repeat.

Controlled values (themes, frequency, licence, access rights, languages, spatial coverage) are
stored as IRIs of the EU Vocabularies (``vocabularies.py`` lists the choices offline). Every text
a person reads has a Latvian and an English field. Distributions are not stored: they are made
from what DAGR serves (``selectors.dataset_distributions``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dagr.core.models import TimeStampedModel


class DescribedFields(models.Model):
    """The fields a template and a dataset's metadata share (a template's are defaults)."""

    publisher_name_lv = models.CharField(_("publisher (Latvian)"), max_length=255, blank=True)
    publisher_name_en = models.CharField(_("publisher (English)"), max_length=255, blank=True)
    publisher_url = models.URLField(_("publisher's web address"), blank=True)
    contact_name_lv = models.CharField(_("contact point (Latvian)"), max_length=255, blank=True)
    contact_name_en = models.CharField(_("contact point (English)"), max_length=255, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_url = models.URLField(_("contact web address"), blank=True)
    licence = models.URLField(_("licence"), max_length=255, blank=True)
    access_rights = models.URLField(_("access rights"), max_length=255, blank=True)
    themes = models.JSONField(_("themes"), default=list, blank=True)  # [IRI, …]
    frequency = models.URLField(_("update frequency"), max_length=255, blank=True)
    spatial = models.JSONField(_("spatial coverage"), default=list, blank=True)  # [IRI, …]
    conforms_to = models.JSONField(_("conforms to"), default=list, blank=True)  # [URL, …]
    languages = models.JSONField(_("languages"), default=list, blank=True)  # [IRI, …]

    class Meta:
        abstract = True


# The fields a template carries, in form order (services.template_apply copies exactly these).
TEMPLATE_FIELDS: tuple[str, ...] = (
    "publisher_name_lv",
    "publisher_name_en",
    "publisher_url",
    "contact_name_lv",
    "contact_name_en",
    "contact_email",
    "contact_url",
    "licence",
    "access_rights",
    "themes",
    "frequency",
    "spatial",
    "conforms_to",
    "languages",
)


class MetadataTemplate(DescribedFields, TimeStampedModel):
    """Reusable defaults, owned by one institution, or global (no institution: the
    administrator's, offered to everyone)."""

    institution = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="metadata_templates",
        verbose_name=_("institution"),
    )
    name = models.CharField(_("name"), max_length=120)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("metadata template")
        verbose_name_plural = _("metadata templates")

    def __str__(self) -> str:
        return self.name


class DatasetMetadata(DescribedFields, TimeStampedModel):
    """A dataset's DCAT-AP description beyond the catalogue's own fields (one per dataset)."""

    dataset = models.OneToOneField(
        "catalog.Dataset",
        on_delete=models.CASCADE,
        related_name="open_metadata",
        verbose_name=_("dataset"),
    )
    template = models.ForeignKey(
        MetadataTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("applied template"),
    )
    keywords_lv = models.JSONField(_("keywords (Latvian)"), default=list, blank=True)
    keywords_en = models.JSONField(_("keywords (English)"), default=list, blank=True)
    temporal_start = models.DateField(_("period covered from"), null=True, blank=True)
    temporal_end = models.DateField(_("period covered until"), null=True, blank=True)
    documentation = models.URLField(_("documentation"), blank=True)
    version = models.CharField(_("version"), max_length=50, blank=True)
    version_notes_lv = models.TextField(_("version notes (Latvian)"), blank=True)
    version_notes_en = models.TextField(_("version notes (English)"), blank=True)
    provenance_lv = models.TextField(_("provenance (Latvian)"), blank=True)
    provenance_en = models.TextField(_("provenance (English)"), blank=True)
    rights_lv = models.TextField(_("rights statement (Latvian)"), blank=True)
    rights_en = models.TextField(_("rights statement (English)"), blank=True)
    distribution_status = models.URLField(_("distribution status"), max_length=255, blank=True)
    published = models.BooleanField(_("published as open data"), default=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    # The last validation (selectors.dataset_validation): keyed on a hash of the graph, so an
    # unchanged description is never validated twice.
    validated_hash = models.CharField(max_length=64, blank=True)
    validation = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("open data metadata")
        verbose_name_plural = _("open data metadata")

    def __str__(self) -> str:
        return f"metadata of dataset {self.dataset_id}"
