"""Writes of the open data metadata: a dataset's metadata (``metadata_update``), templates
(create, update, delete, apply), publishing and withdrawing, and the validation cache.

Each write checks permission with ``dagr.permissions.rules``, changes the rows and writes the
audit entry in one transaction; ``signals.metadata_changed`` goes out on commit (the model's
post_save receivers in ``signals.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.accounts.models import Institution, User
from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset
from dagr.catalog.services import dataset_update
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dagr.permissions import rules

from . import dcat, selectors, validation
from . import vocabularies as v
from .models import TEMPLATE_FIELDS, DatasetMetadata, MetadataTemplate

# Fields of DatasetMetadata a person edits (the form), besides the template's.
OWN_FIELDS: tuple[str, ...] = (
    "keywords_lv",
    "keywords_en",
    "temporal_start",
    "temporal_end",
    "documentation",
    "version",
    "version_notes_lv",
    "version_notes_en",
    "provenance_lv",
    "provenance_en",
    "rights_lv",
    "rights_en",
    "distribution_status",
)
METADATA_FIELDS: tuple[str, ...] = TEMPLATE_FIELDS + OWN_FIELDS

_SINGLE_VOCAB = {
    "licence": "licence",
    "access_rights": "access-right",
    "frequency": "frequency",
    "distribution_status": "distribution-status",
}
_LIST_VOCAB = {"themes": "data-theme", "languages": "language", "spatial": "spatial"}


def check_values(values: Mapping[str, Any]) -> None:
    """Controlled fields hold IRIs of the shipped vocabularies; dates in order.
    ``ValidationError`` with ``errors`` [{field, message}] otherwise."""
    errors = []
    for name, key in _SINGLE_VOCAB.items():
        value = values.get(name)
        if value and not v.valid(key, value):
            errors.append({"location": name, "message": _("Choose a value from the list.")})
    for name, key in _LIST_VOCAB.items():
        for value in values.get(name) or []:
            if not v.valid(key, value):
                errors.append({"location": name, "message": _("Choose values from the list.")})
                break
    start, end = values.get("temporal_start"), values.get("temporal_end")
    if start and end and start > end:
        errors.append(
            {"location": "temporal_end", "message": _("The end is before the start of the period.")}
        )
    if errors:
        raise ValidationError(
            _("Some values are not valid."), code="metadata_invalid", errors=errors
        )


def _require_edit(actor: Actor, dataset: Dataset) -> None:
    if not rules.can_publish_open_data(actor, dataset):
        raise PermissionDenied(
            _("You may not describe this dataset."), code="open_data_edit_denied"
        )


def _changes(obj: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        old = getattr(obj, name)
        if old != value:
            out[name] = {"from": _jsonable(old), "to": _jsonable(value)}
    return out


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def metadata_update(*, actor: Actor, dataset: Dataset, **values: Any) -> DatasetMetadata:
    """Save the dataset's open data metadata (only the fields given)."""
    unknown = set(values) - set(METADATA_FIELDS)
    if unknown:
        raise ValueError(f"not metadata fields: {sorted(unknown)}")
    _require_edit(actor, dataset)
    check_values(values)
    with transaction.atomic():
        meta, _created = DatasetMetadata.objects.select_for_update().get_or_create(dataset=dataset)
        changes = _changes(meta, values)
        if not changes:
            return meta
        for name, value in values.items():
            setattr(meta, name, value)
        meta.save()
        admin_entry_create(
            action="opendata.metadata.updated",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes=changes,
        )
    return meta


def template_apply(
    *, actor: Actor, dataset: Dataset, template: MetadataTemplate
) -> DatasetMetadata:
    """Copy the template's non-empty fields onto the dataset's metadata (fields the template
    leaves empty keep the dataset's values); later edits override what was copied."""
    _require_edit(actor, dataset)
    if template.institution_id not in (None, dataset.provider_id):
        raise NotFound(_("No such metadata template."), code="metadata_template_not_found")
    values = {name: getattr(template, name) for name in TEMPLATE_FIELDS if getattr(template, name)}
    with transaction.atomic():
        meta, _created = DatasetMetadata.objects.select_for_update().get_or_create(dataset=dataset)
        changes = _changes(meta, values)
        for name, value in values.items():
            setattr(meta, name, value)
        meta.template = template
        meta.save()
        admin_entry_create(
            action="opendata.template.applied",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes={"template": template.name, **changes},
        )
    return meta


def _template_values(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(TEMPLATE_FIELDS)
    if unknown:
        raise ValueError(f"not template fields: {sorted(unknown)}")
    check_values(values)
    return dict(values)


def template_create(
    *, actor: Actor, institution: Institution | None, name: str, **values: Any
) -> MetadataTemplate:
    if not rules.can_manage_metadata_templates(actor, institution):
        raise PermissionDenied(
            _("You may not keep metadata templates here."), code="metadata_template_denied"
        )
    values = _template_values(values)
    if not name.strip():
        raise ValidationError(
            _("Give the template a name."),
            code="metadata_invalid",
            errors=[{"location": "name", "message": _("Give the template a name.")}],
        )
    with transaction.atomic():
        template = MetadataTemplate.objects.create(
            institution=institution, name=name.strip(), created_by=_user(actor), **values
        )
        admin_entry_create(
            action="opendata.template.created",
            actor=actor,
            target=template,
            institution_id=institution.pk if institution else None,
            changes={"name": template.name},
        )
    return template


def template_update(
    *, actor: Actor, template: MetadataTemplate, name: str, **values: Any
) -> MetadataTemplate:
    if not rules.can_manage_metadata_templates(actor, template.institution_id):
        raise PermissionDenied(
            _("You may not change this metadata template."), code="metadata_template_denied"
        )
    values = _template_values(values)
    values["name"] = name.strip() or template.name
    with transaction.atomic():
        changes = _changes(template, values)
        for key, value in values.items():
            setattr(template, key, value)
        template.save()
        admin_entry_create(
            action="opendata.template.updated",
            actor=actor,
            target=template,
            institution_id=template.institution_id,
            changes=changes,
        )
    return template


def template_delete(*, actor: Actor, template: MetadataTemplate) -> None:
    if not rules.can_manage_metadata_templates(actor, template.institution_id):
        raise PermissionDenied(
            _("You may not change this metadata template."), code="metadata_template_denied"
        )
    with transaction.atomic():
        admin_entry_create(
            action="opendata.template.deleted",
            actor=actor,
            target=template,
            institution_id=template.institution_id,
            changes={"name": template.name},
        )
        template.delete()


def _user(actor: Actor) -> User | None:
    """The portal user behind the actor (None for the system or a connection)."""
    return actor if isinstance(actor, User) else None


# --- validation cache and publishing -----------------------------------------------------------


def validation_refresh(dataset: Dataset) -> validation.Report:
    """Validate the dataset's graph unless its description's hash is the cached one; store the
    result."""
    meta = selectors.metadata_of(dataset)
    description = selectors.description_of(dataset, meta)
    digest = dcat.description_hash(description)
    if meta.pk and meta.validated_hash == digest and meta.validation:
        return validation.Report.from_json(meta.validation)
    report = validation.validate_cached(dcat.dataset_graph(description), digest=digest)
    if meta.pk:
        DatasetMetadata.objects.filter(pk=meta.pk).update(
            validated_hash=digest, validation=report.to_json()
        )
        meta.validated_hash, meta.validation = digest, report.to_json()
    return report


def validation_refresh_many(datasets: Iterable[Dataset], *, chunk: int = 200) -> dict[int, bool]:
    """Validate every dataset whose graph changed since its cached validation (in chunks, one
    pyshacl run each) and store the results. Returns dataset id → conforms."""
    out: dict[int, bool] = {}
    pending: dict[int, tuple[Any, str]] = {}
    metas: dict[int, DatasetMetadata] = {}

    def flush() -> None:
        for pk, report in validation.validate_many(pending).items():
            meta = metas[pk]
            if meta.pk:
                DatasetMetadata.objects.filter(pk=meta.pk).update(
                    validated_hash=report.digest, validation=report.to_json()
                )
            out[pk] = report.conforms
        pending.clear()

    descriptions = selectors.descriptions_of(list(datasets))
    for ds, meta, description in descriptions:
        digest = dcat.description_hash(description)
        if meta.pk and meta.validated_hash == digest and meta.validation:
            out[ds.pk] = validation.Report.from_json(meta.validation).conforms
            continue
        pending[ds.pk], metas[ds.pk] = (dcat.dataset_graph(description), digest), meta
        if len(pending) >= chunk:
            flush()
    if pending:
        flush()
    return out


def metadata_publish(*, actor: Actor, dataset: Dataset) -> DatasetMetadata:
    """Put the dataset in the open data catalogue; refused while its graph violates a
    mandatory shape."""
    _require_edit(actor, dataset)
    report = validation_refresh(dataset)
    if not report.conforms:
        raise Conflict(
            _("The description has errors; correct them before publishing."),
            code="metadata_not_publishable",
        )
    with transaction.atomic():
        meta, _created = DatasetMetadata.objects.select_for_update().get_or_create(dataset=dataset)
        if meta.published:
            return meta
        meta.published, meta.published_at = True, timezone.now()
        meta.save(update_fields=["published", "published_at", "updated_at"])
        admin_entry_create(
            action="opendata.metadata.published",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
        )
    return meta


def metadata_unpublish(*, actor: Actor, dataset: Dataset) -> DatasetMetadata:
    _require_edit(actor, dataset)
    with transaction.atomic():
        meta, _created = DatasetMetadata.objects.select_for_update().get_or_create(dataset=dataset)
        if not meta.published:
            return meta
        meta.published = False
        meta.save(update_fields=["published", "updated_at"])
        admin_entry_create(
            action="opendata.metadata.unpublished",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
        )
    return meta


def metadata_save(
    *,
    actor: Actor,
    dataset: Dataset,
    catalog_values: Mapping[str, Any],
    metadata_values: Mapping[str, Any],
) -> DatasetMetadata:
    """The metadata form's save: the catalogue's titles and descriptions (through the
    catalogue's own service) and the open data metadata, in one transaction."""
    with transaction.atomic():
        dataset_update(actor=actor, dataset=dataset, **catalog_values)
        return metadata_update(actor=actor, dataset=dataset, **metadata_values)
