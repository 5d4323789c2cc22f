"""Writes to the catalogue: datasets, their metadata, versioned schemas and status.

Every write checks permission through ``dagr.permissions.rules`` (the actor may be
``dagr.core.actors.SYSTEM``), runs under ``transaction.atomic`` and writes its admin audit entry
(``catalog.dataset.created`` / ``.updated`` / ``.schema_changed`` / ``.status_changed``) in the
same transaction.

Schema changes are compared field by field (``schema_changes``); a breaking change (a removed
field, a changed type, a newly required field, a changed identifier kind, a changed key) is
checked against the stored records through ``dagr.catalog.hooks`` and refused when any stored
record would become invalid.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution, acting_user
from dagr.audit.services import admin_entry_create, diff_fields
from dagr.core.actors import Actor
from dagr.core.errors import NotFound, PermissionDenied, ValidationError
from dagr.permissions import rules

from . import hooks
from .models import DATASET_CODE_RE, Dataset, SchemaVersion
from .schema import SchemaDef, parse_schema
from .schema_diff import SchemaChange, schema_changes
from .selectors import datasets_visible_to

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

METADATA_FIELDS = ("title_lv", "title_en", "description_lv", "description_en")
TITLE_MAX = 255
DESCRIPTION_MAX = 20_000
Status = Dataset.Status
RESERVED_CODES = frozenset({"new"})  # portal paths next to /catalog/<code>/

# Which status may follow which; who may make the move is a rule (permissions.rules).
STATUS_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.SANDBOX: (Status.PRODUCTION, Status.RETIRED),
    Status.PRODUCTION: (Status.RETIRED,),
    Status.RETIRED: (Status.SANDBOX,),
}


# --- datasets ----------------------------------------------------------------------------------


def _clean_metadata(values: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    errors: list[dict[str, str]] = []
    for name in METADATA_FIELDS:
        if name not in values:
            continue
        value = values[name]
        text = "" if value is None else str(value).strip()
        limit = TITLE_MAX if name.startswith("title") else DESCRIPTION_MAX
        if name.startswith("title") and not text:
            errors.append({"location": name, "message": gettext("a title is required")})
        elif len(text) > limit:
            errors.append(
                {
                    "location": name,
                    "message": gettext("is too long (at most %(max)s characters)") % {"max": limit},
                }
            )
        cleaned[name] = text
    if errors:
        raise ValidationError(
            _("The dataset description is not valid."), code="invalid_metadata", errors=errors
        )
    return cleaned


def _clean_code(code: str) -> str:
    code = (code or "").strip()
    if not re.match(DATASET_CODE_RE, code) or code in RESERVED_CODES:
        message: StrOrPromise = _(
            "The code must be 3–64 lowercase letters, digits and hyphens, starting with a letter "
            "and not ending with a hyphen."
        )
        raise ValidationError(
            message,
            code="invalid_dataset_code",
            errors=[{"location": "code", "message": str(message)}],
        )
    if Dataset.objects.filter(code=code).exists():
        message = _("A dataset with the code “%(code)s” already exists.") % {"code": code}
        raise ValidationError(
            message,
            code="dataset_code_taken",
            errors=[{"location": "code", "message": str(message)}],
        )
    return code


def dataset_create(
    *,
    actor: Actor,
    provider: Institution,
    code: str,
    title_lv: str,
    title_en: str,
    description_lv: str = "",
    description_en: str = "",
    schema: dict[str, Any],
    status: str = Dataset.Status.SANDBOX,
) -> Dataset:
    """Define a dataset with its first schema version."""
    if not rules.can_create_dataset_for(actor, provider):
        raise PermissionDenied(
            _("You may not define datasets for this institution."), code="dataset_create_denied"
        )
    if status not in Status.values:
        raise ValidationError(_("Unknown dataset status."), code="invalid_status")
    if status == Status.PRODUCTION and not rules.can_change_dataset_status(
        actor, Dataset(provider=provider), status
    ):
        raise PermissionDenied(
            _("Only a portal administrator can put a dataset into production."),
            code="dataset_status_denied",
        )
    metadata = _clean_metadata(
        {
            "title_lv": title_lv,
            "title_en": title_en,
            "description_lv": description_lv,
            "description_en": description_en,
        }
    )
    parsed = parse_schema(schema)
    with transaction.atomic():
        code = _clean_code(code)
        try:
            with transaction.atomic():
                dataset = Dataset.objects.create(
                    provider=provider,
                    code=code,
                    status=status,
                    created_by=acting_user(actor),
                    **metadata,
                )
        except IntegrityError:  # created concurrently since _clean_code looked
            message = _("A dataset with the code “%(code)s” already exists.") % {"code": code}
            raise ValidationError(
                message,
                code="dataset_code_taken",
                errors=[{"location": "code", "message": str(message)}],
            ) from None
        version = SchemaVersion.objects.create(
            dataset=dataset,
            number=1,
            definition=parsed.as_document(),
            created_by=acting_user(actor),
        )
        dataset.schema = version
        dataset.save(update_fields=["schema"])
        admin_entry_create(
            action="catalog.dataset.created",
            actor=actor,
            target=dataset,
            institution_id=provider.pk,
            changes={
                "code": code,
                "provider": provider.registration_number,
                "status": status,
                **metadata,
                "schema_version": 1,
                "fields": [path for path, _f in parsed.field_paths()],
                "identifiers": [list(pair) for pair in parsed.identifier_paths()],
            },
        )
        hooks.schema_changed(dataset, None, parsed)
    return dataset


def _require_edit(actor: Actor, dataset: Dataset) -> None:
    if not rules.can_edit_dataset(actor, dataset):
        if not datasets_visible_to(actor).filter(pk=dataset.pk).exists():
            raise NotFound(code="dataset_not_found")
        raise PermissionDenied(_("You may not change this dataset."), code="dataset_edit_denied")


def dataset_update(*, actor: Actor, dataset: Dataset, **metadata: Any) -> Dataset:
    """Change titles and descriptions (the code is stable: it is part of URLs and the API)."""
    unknown = sorted(set(metadata) - set(METADATA_FIELDS))
    if unknown:
        raise ValidationError(
            _("These dataset properties cannot be changed here: %(names)s")
            % {"names": ", ".join(unknown)},
            code="invalid_metadata",
        )
    _require_edit(actor, dataset)
    cleaned = _clean_metadata(metadata)
    with transaction.atomic():
        before = {name: getattr(dataset, name) for name in cleaned}
        changes = diff_fields(before, cleaned)
        if not changes:
            return dataset
        for name, value in cleaned.items():
            setattr(dataset, name, value)
        dataset.save(update_fields=[*changes, "updated_at"])
        admin_entry_create(
            action="catalog.dataset.updated",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes=changes,
        )
    return dataset


# --- status ------------------------------------------------------------------------------------


def dataset_status_targets(dataset: Dataset) -> tuple[str, ...]:
    """The statuses the dataset may move to next (whoever the actor is)."""
    return STATUS_TRANSITIONS.get(dataset.status, ())


def dataset_set_status(*, actor: Actor, dataset: Dataset, status: str) -> Dataset:
    """sandbox → production (administrators only), sandbox/production → retired,
    retired → sandbox (administrators only)."""
    if status not in Status.values:
        raise ValidationError(_("Unknown dataset status."), code="invalid_status")
    _require_edit_or_status(actor, dataset, status)
    with transaction.atomic():
        current = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if current.status == status:
            return current
        if status not in dataset_status_targets(current):
            raise ValidationError(
                _("A dataset cannot go from “%(old)s” to “%(new)s”.")
                % {"old": current.get_status_display(), "new": Status(status).label},
                code="invalid_status_transition",
            )
        old = current.status
        current.status = status
        current.save(update_fields=["status", "updated_at"])
        admin_entry_create(
            action="catalog.dataset.status_changed",
            actor=actor,
            target=current,
            institution_id=current.provider_id,
            changes={"status": [old, status]},
        )
    dataset.status, dataset.updated_at = current.status, current.updated_at
    return dataset


def _require_edit_or_status(actor: Actor, dataset: Dataset, status: str) -> None:
    if rules.can_set_dataset_status(actor, dataset, status):
        return
    _require_edit(actor, dataset)  # NotFound for those who may not even see it
    if status == Status.PRODUCTION:
        message = _("Only a portal administrator can put a dataset into production.")
    elif status == Status.SANDBOX:
        message = _("Only a portal administrator can reopen a retired dataset.")
    else:
        message = _("You may not change the status of this dataset.")
    raise PermissionDenied(message, code="dataset_status_denied")


# --- schema changes ----------------------------------------------------------------------------


def dataset_schema_update(
    *, actor: Actor, dataset: Dataset, schema: dict[str, Any], note: str = ""
) -> SchemaVersion:
    """Store a new schema version; returns the current version when nothing changed.

    Refused (``ValidationError``) when the key field changes while records are stored
    (``schema_key_change_with_records``), or when a breaking change would make stored records
    invalid (``schema_change_invalidates_records``, with ``invalid_count`` and ``examples``).
    """
    _require_edit(actor, dataset)
    parsed = parse_schema(schema)
    note = (note or "").strip()[:255]
    with transaction.atomic():
        locked = (
            Dataset.objects.select_for_update(of=("self",))
            .select_related("schema")
            .get(pk=dataset.pk)
        )
        current = locked.schema
        old = parse_schema(current.definition) if current else None
        if current is not None and old is not None and old.as_document() == parsed.as_document():
            return current
        changes = schema_changes(old, parsed) if old else []
        breaking = [c for c in changes if c.breaking]
        if breaking:
            _refuse_invalidating_change(locked, parsed, breaking)
        number = (current.number if current else 0) + 1
        version = SchemaVersion.objects.create(
            dataset=locked,
            number=number,
            definition=parsed.as_document(),
            note=note,
            created_by=acting_user(actor),
        )
        locked.schema = version
        locked.save(update_fields=["schema", "updated_at"])
        admin_entry_create(
            action="catalog.dataset.schema_changed",
            actor=actor,
            target=locked,
            institution_id=locked.provider_id,
            changes={
                "schema_version": [current.number if current else None, number],
                "note": note,
                "changes": [c.as_dict() for c in changes],
            },
        )
        hooks.schema_changed(locked, old, parsed)
    dataset.schema, dataset.updated_at = version, locked.updated_at
    return version


def _refuse_invalidating_change(
    dataset: Dataset, schema: SchemaDef, breaking: list[SchemaChange]
) -> None:
    stored = hooks.stored_record_count(dataset)
    if any(c.code == "key_changed" for c in breaking) and stored:
        raise ValidationError(
            _(
                "The key field cannot be changed while the dataset has %(count)s stored "
                "records. Delete the records first, or keep the key."
            )
            % {"count": stored},
            code="schema_key_change_with_records",
            stored_count=stored,
        )
    invalid, examples = hooks.invalid_stored_records(dataset, schema, 10)
    if invalid:
        raise ValidationError(
            _(
                "This change would make %(count)s stored records invalid (%(changes)s). "
                "Correct the records first, or make the change compatible, e.g. add new fields "
                "as optional."
            )
            % {"count": invalid, "changes": "; ".join(c.message for c in breaking)},
            code="schema_change_invalidates_records",
            invalid_count=invalid,
            examples=[
                {"key": key, "errors": [_error_dict(e) for e in errors]} for key, errors in examples
            ],
            changes=[c.as_dict() for c in breaking],
        )


def _error_dict(error: Any) -> Any:
    return error.as_dict() if hasattr(error, "as_dict") else error


# --- YAML --------------------------------------------------------------------------------------


class _SchemaDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_SchemaDumper.add_representer(str, _str_presenter)


def schema_to_yaml(schema: SchemaDef | dict[str, Any]) -> str:
    """The schema document as YAML, key first, fields in their order, Unicode kept."""
    document = schema.as_document() if isinstance(schema, SchemaDef) else schema
    ordered = {"key": document.get("key"), "fields": document.get("fields", [])}
    ordered.update({k: v for k, v in document.items() if k not in ordered})
    return yaml.dump(ordered, Dumper=_SchemaDumper, allow_unicode=True, sort_keys=False, width=100)


def schema_from_yaml(text: str | bytes) -> dict[str, Any]:
    """Read a schema document from YAML (``yaml.safe_load``); it is not validated here (see
    ``schema_parse_yaml``). Raises ``ValidationError`` with the line and column of the problem."""
    raw = text.encode() if isinstance(text, str) else text
    limit = settings.DAGR_SCHEMA_UPLOAD_MAX_BYTES
    if len(raw) > limit:
        raise ValidationError(
            _("The schema is too large (%(size)s bytes; at most %(limit)s).")
            % {"size": len(raw), "limit": limit},
            code="schema_too_large",
        )
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("The schema file must be UTF-8 text."), code="invalid_yaml"
        ) from exc
    if not decoded.strip():
        message: StrOrPromise = _("The schema is empty.")
        raise ValidationError(
            message, code="invalid_yaml", errors=[{"location": "", "message": str(message)}]
        )
    try:
        document = yaml.safe_load(decoded)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        error: dict[str, Any] = {"location": "", "message": str(problem)}
        if mark is not None:
            error |= {"line": mark.line + 1, "column": mark.column + 1}
        message = (
            _("The YAML is not valid (line %(line)s, column %(column)s): %(problem)s")
            % {"line": mark.line + 1, "column": mark.column + 1, "problem": problem}
            if mark is not None
            else _("The YAML is not valid: %(problem)s") % {"problem": problem}
        )
        raise ValidationError(message, code="invalid_yaml", errors=[error]) from exc
    if not isinstance(document, dict):
        message = _("The schema must be a mapping with 'key' and 'fields'.")
        raise ValidationError(
            message,
            code="invalid_schema",
            errors=[{"location": "", "message": str(message), "line": 1}],
        )
    return document


def schema_parse_yaml(text: str | bytes) -> SchemaDef:
    """``schema_from_yaml`` + ``parse_schema``; schema errors carry the YAML line they refer to."""
    document = schema_from_yaml(text)
    try:
        return parse_schema(document)
    except ValidationError as exc:
        decoded = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        for error in exc.errors:
            line = yaml_line_of(decoded, error.get("location", ""))
            if line:
                error["line"] = line
        raise


def yaml_line_of(text: str, location: str) -> int | None:
    """The 1-based line of the YAML node at a dotted location (``fields.0.type``); the nearest
    existing parent when the node itself is missing."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in [p for p in location.split(".") if p]:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and part.isdigit():
            index = int(part)
            if index < len(node.value):
                child = node.value[index]
                line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
