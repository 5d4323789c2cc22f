"""Record sets (DU-2): define, change and delete a recipient's watch lists
(``docs/change-feed.md``, "Record sets").

A record set belongs to one recipient institution and one of its approved grants. Its
``identifier_field`` must be a declared identifier of the dataset that the grant shows, and its
``conditions`` (the grant condition language) may use only granted fields: a record set never
lets the recipient test a value it cannot see.

The watched values live in ``record_set_values``, membership and the feed in
``record_set_feed``; ``services`` re-exports all three for callers. Subscriptions (webhooks)
are ``deliveries``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create, diff_fields
from dagr.catalog.schema import SchemaDef
from dagr.core import identifiers
from dagr.core.actors import Actor
from dagr.core.errors import NotFound, PermissionDenied, ValidationError
from dagr.grants.conditions import conditions_as_json, validate_conditions
from dagr.grants.models import Grant
from dagr.grants.selectors import dataset_schema_of, grants_usable_by
from dagr.permissions import rules

from .models import RecordSet
from .record_set_feed import _granted, forget_values

MAX_NAME_LENGTH = 200
MAX_VALUE_LENGTH = 255
MAX_VALUES_PER_CALL = 10_000
DEFAULT_MAX_IDENTIFIERS = 200_000
MAX_CSV_BYTES = 10 * 1024 * 1024
MAX_REPORTED_ERRORS = 100
INSERT_BATCH = 2000
DELETE_BATCH = 500
CHECKED_KINDS = (identifiers.PERSONAL_CODE, identifiers.COMPANY_CODE)
IMPORT_MODES = ("add", "replace")


def max_identifiers() -> int:
    return int(getattr(settings, "MONITORING_MAX_IDENTIFIERS", DEFAULT_MAX_IDENTIFIERS))


def _error(location: str, code: str, message: Any, **extra: Any) -> dict[str, Any]:
    return {"location": location, "code": code, "message": str(message), **extra}


def _invalid(message: Any, code: str, location: str) -> ValidationError:
    return ValidationError(message, code=code, errors=[_error(location, code, message)])


def _require_manager(actor: Actor, institution_id: int) -> None:
    if not rules.can_manage_record_sets_of(actor, institution_id):
        raise PermissionDenied(
            _("Only data recipient representatives or systems of the institution manage its "
              "record sets."),
            code="record_set_forbidden",
        )  # fmt: skip


# --- the definition: grant, identifier field, conditions ----------------------------------------


def _grant_of(institution_id: int, dataset_code: str, permission_number: str) -> Grant:
    missing = NotFound(
        _("Your institution has no approved access grant with this permission number for this "
          "dataset."),
        code="grant_not_found",
    )  # fmt: skip
    if not isinstance(dataset_code, str) or not isinstance(permission_number, str):
        raise missing
    number = permission_number.strip()
    grant = (
        grants_usable_by(institution_ids=[institution_id], not_yet_valid=True)
        .select_related("dataset", "dataset__schema")
        .filter(dataset__code=dataset_code.strip(), permission_number=number)
        .first()
    )
    if not number or grant is None:
        raise missing
    return grant


def _clean_name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME_LENGTH:
        raise _invalid(
            _("Give the record set a name of 1 to %(max)s characters.") % {"max": MAX_NAME_LENGTH},
            "invalid_name",
            "name",
        )
    return text


def _clean_identifier_field(path: Any, schema: SchemaDef, grant: Grant) -> str:
    if path is None or path == "":
        return ""
    kinds = dict(schema.identifier_paths())
    if not isinstance(path, str) or path not in kinds:
        raise _invalid(
            _("'%(field)s' is not an identifier field of this dataset.")
            % {"field": str(path)[:100]},
            "unknown_identifier",
            "identifier_field",
        )
    if not _granted(path, grant):
        raise _invalid(
            _("Your access grant does not include the field '%(field)s'.") % {"field": path},
            "field_not_granted",
            "identifier_field",
        )
    return path


def _clean_conditions(raw: Any, schema: SchemaDef, grant: Grant) -> list[dict[str, Any]]:
    conditions = validate_conditions(raw, schema)
    errors = [
        _error(
            f"conditions.{n}",
            "field_not_granted",
            gettext("Your access grant does not include the field '%(field)s'.")
            % {"field": c.field},
        )
        for n, c in enumerate(conditions)
        if not _granted(c.field, grant)
    ]
    if errors:
        raise ValidationError(
            _("The conditions are not valid."), code="invalid_conditions", errors=errors
        )
    return conditions_as_json(conditions)


def _snapshot(record_set: RecordSet) -> dict[str, Any]:
    return {
        "name": record_set.name,
        "dataset": record_set.dataset.code,
        "permission_number": record_set.grant.permission_number,
        "identifier_field": record_set.identifier_field,
        "conditions": record_set.conditions,
    }


def record_set_create(
    *,
    actor: Actor,
    institution_id: int,
    dataset_code: str,
    permission_number: str,
    name: str,
    identifier_field: str = "",
    conditions: list[dict[str, Any]] | None = None,
) -> RecordSet:
    """A new record set of ``institution_id`` over its approved grant ``permission_number`` for
    ``dataset_code`` (another institution's grant: ``grant_not_found``)."""
    _require_manager(actor, institution_id)
    clean_name = _clean_name(name)
    grant = _grant_of(institution_id, dataset_code, permission_number)
    schema = dataset_schema_of(grant.dataset)
    field = _clean_identifier_field(identifier_field, schema, grant)
    clean_conditions = _clean_conditions(conditions or [], schema, grant)
    record_set = RecordSet(
        institution_id=institution_id,
        grant=grant,
        dataset=grant.dataset,
        name=clean_name,
        identifier_field=field,
        conditions=clean_conditions,
        created_by_label=str(actor)[:255],
    )
    with transaction.atomic():
        record_set.save()
        admin_entry_create(
            action="monitoring.record_set.created",
            actor=actor,
            target=record_set,
            institution_id=institution_id,
            changes=diff_fields({}, _snapshot(record_set)),
        )
    return record_set


_UNSET: Any = object()


def record_set_update(
    *, actor: Actor, record_set: RecordSet, name: Any = _UNSET, conditions: Any = _UNSET
) -> RecordSet:
    """Rename the record set and/or change its conditions (a changed definition makes earlier
    feed cursors ``cursor_outdated``). The identifier field cannot change: make a new set."""
    _require_manager(actor, record_set.institution_id)
    before = _snapshot(record_set)
    fields: list[str] = []
    if name is not _UNSET:
        record_set.name = _clean_name(name)
        fields.append("name")
    if conditions is not _UNSET:
        schema = dataset_schema_of(record_set.dataset)
        record_set.conditions = _clean_conditions(conditions or [], schema, record_set.grant)
        fields.append("conditions")
    changes = diff_fields(before, _snapshot(record_set))
    if not changes:
        return record_set
    with transaction.atomic():
        record_set.save(update_fields=[*fields, "updated_at"])
        admin_entry_create(
            action="monitoring.record_set.updated",
            actor=actor,
            target=record_set,
            institution_id=record_set.institution_id,
            changes=changes,
        )
    return record_set


def record_set_delete(*, actor: Actor, record_set: RecordSet) -> None:
    """Delete the record set with its watched values and its webhook."""
    _require_manager(actor, record_set.institution_id)
    with transaction.atomic():
        admin_entry_create(
            action="monitoring.record_set.deleted",
            actor=actor,
            target=record_set,
            institution_id=record_set.institution_id,
            changes={
                **diff_fields(_snapshot(record_set), {}),
                "identifier_count": [record_set.identifier_count, None],
            },
        )
        record_set.delete()
    forget_values(record_set.pk)
