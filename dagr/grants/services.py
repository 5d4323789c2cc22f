"""Writes of grants: request, approve (possibly narrowed), reject, revoke, and counting use
against the daily quota. Each write checks ``dagr.permissions.rules``, validates, changes, and
writes its audit entry in the same transaction; the grant cache is dropped on commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Institution, acting_user
from dagr.audit.services import admin_entry_create, diff_fields
from dagr.catalog import hooks
from dagr.catalog.models import Dataset
from dagr.catalog.schema import SchemaDef, parse_schema
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dagr.core.headers import rate_limit_note
from dagr.permissions import rules

from .cache import grant_cache
from .conditions import conditions_as_json, validate_conditions
from .errors import QuotaExceeded
from .fields import normalize_fields
from .models import Grant, GrantUsage

MAX_TEXT = 5000


def _invalidate_on_commit() -> None:
    transaction.on_commit(grant_cache.invalidate)


def schema_changed_listener(dataset: Any, old: Any, new: Any) -> None:
    _invalidate_on_commit()


def _schema_of(dataset: Dataset) -> SchemaDef:
    if dataset.schema is None:
        raise Conflict(_("The dataset has no schema yet."), code="dataset_without_schema")
    return parse_schema(dataset.schema.definition)


def _text(value: str, *, name: str, label: Any, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(
            _("%(label)s is required.") % {"label": label},
            code="required",
            errors=[{"location": name, "code": "required", "message": str(_("required"))}],
        )
    if len(value) > MAX_TEXT:
        raise ValidationError(
            _("%(label)s is too long.") % {"label": label},
            code="too_long",
            errors=[{"location": name, "code": "too_long", "message": str(_("too long"))}],
        )
    return value


def _snapshot(grant: Grant) -> dict[str, Any]:
    return {
        "status": grant.status,
        "fields": grant.fields,
        "conditions": grant.conditions,
        "permission_number": grant.permission_number,
        "valid_from": grant.valid_from,
        "valid_until": grant.valid_until,
        "quota": grant.quota,
    }


def grant_request(
    *,
    actor: Actor,
    recipient: Institution,
    dataset: Dataset,
    fields: list[str],
    conditions: list[dict[str, Any]] | None = None,
    legal_basis: str,
    purpose: str,
) -> Grant:
    """A data recipient representative asks for access to a production dataset for their
    institution: the fields, optional conditions, the legal basis and the purpose."""
    if not rules.can_request_grant_for(actor, recipient):
        raise PermissionDenied(
            _("You may request access only for an institution you represent as a data recipient."),
            code="grant_request_denied",
        )
    if dataset.status != Dataset.Status.PRODUCTION and dataset.pk not in hooks.open_sandbox_ids():
        raise Conflict(
            _("Access can be requested only to datasets in production."),
            code="dataset_not_in_production",
        )
    schema = _schema_of(dataset)
    chosen = normalize_fields(fields, schema)
    parsed = conditions_as_json(validate_conditions(conditions or [], schema))
    legal_basis = _text(legal_basis, name="legal_basis", label=_("Legal basis"))
    purpose = _text(purpose, name="purpose", label=_("Purpose"))
    with transaction.atomic():
        grant = Grant.objects.create(
            recipient=recipient,
            dataset=dataset,
            requested_fields=chosen,
            requested_conditions=parsed,
            legal_basis=legal_basis,
            purpose=purpose,
            requested_by=acting_user(actor),
        )
        admin_entry_create(
            action="grants.grant.requested",
            actor=actor,
            target=grant,
            institution_id=recipient.pk,
            changes={
                "dataset": dataset.code,
                "fields": chosen,
                "conditions": parsed,
                "legal_basis": legal_basis,
                "purpose": purpose,
            },
        )
    return grant


def _locked(grant: Grant) -> Grant:
    locked = (
        Grant.objects.select_for_update(of=("self",))
        .select_related("dataset__schema", "recipient")
        .filter(pk=grant.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("No such access grant."), code="grant_not_found")
    return locked


def _require_decider(actor: Actor, grant: Grant) -> None:
    if not rules.can_decide_grant(actor, grant):
        raise PermissionDenied(
            _("Only a representative of the dataset's provider may decide on this request."),
            code="grant_decide_denied",
        )


def _require_open(grant: Grant) -> None:
    if grant.status != Grant.Status.REQUESTED:
        raise Conflict(
            _("This request has already been decided (%(status)s).")
            % {"status": grant.get_status_display()},
            code="grant_already_decided",
        )


def grant_approve(
    *,
    actor: Actor,
    grant: Grant,
    permission_number: str,
    fields: list[str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    valid_from: date | None = None,
    valid_until: date | None = None,
    quota: int | None = None,
    note: str = "",
) -> Grant:
    """Approve a request, possibly narrowed: ``fields`` must be a subset of the requested fields
    and ``conditions`` must keep every requested condition (the provider may add more). The
    permission number (the external approval reference callers send) is unique per dataset."""
    _require_decider(actor, grant)
    with transaction.atomic():
        grant = _locked(grant)
        _require_decider(actor, grant)
        _require_open(grant)
        schema = _schema_of(grant.dataset)
        approved_fields = normalize_fields(
            grant.requested_fields if fields is None else fields, schema
        )
        wider = [f for f in approved_fields if f not in grant.requested_fields]
        if wider:
            raise ValidationError(
                _("Only requested fields can be approved; not requested: %(fields)s")
                % {"fields": ", ".join(wider)},
                code="fields_not_requested",
                errors=[
                    {"location": "fields", "code": "fields_not_requested", "message": f}
                    for f in wider
                ],
            )
        approved_conditions = conditions_as_json(
            validate_conditions(
                grant.requested_conditions if conditions is None else conditions, schema
            )
        )
        dropped = [c for c in grant.requested_conditions if c not in approved_conditions]
        if dropped:
            raise ValidationError(
                _("Requested conditions cannot be removed, only new ones added."),
                code="conditions_removed",
                errors=[
                    {"location": "conditions", "code": "conditions_removed", "message": str(c)}
                    for c in dropped
                ],
            )
        number = _text(permission_number, name="permission_number", label=_("Permission number"))[
            :100
        ]
        if (
            Grant.objects.filter(dataset_id=grant.dataset_id, permission_number=number)
            .exclude(pk=grant.pk)
            .exists()
        ):
            raise Conflict(
                _("The permission number %(number)s is already used for this dataset.")
                % {"number": number},
                code="permission_number_taken",
            )
        valid_from = valid_from or timezone.localdate()
        if valid_until is not None and valid_until < valid_from:
            raise ValidationError(
                _("The grant cannot end before it starts."),
                code="invalid_validity",
                errors=[{"location": "valid_until", "code": "invalid_validity", "message": ""}],
            )
        if quota is not None and quota < 1:
            raise ValidationError(
                _("The quota must be at least one request per day, or left empty."),
                code="invalid_quota",
                errors=[{"location": "quota", "code": "invalid_quota", "message": ""}],
            )
        before = _snapshot(grant)
        grant.fields = approved_fields
        grant.conditions = approved_conditions
        grant.permission_number = number
        grant.valid_from, grant.valid_until, grant.quota = valid_from, valid_until, quota
        grant.status = Grant.Status.APPROVED
        grant.decided_by = acting_user(actor)
        grant.decided_at = timezone.now()
        grant.decision_note = _text(note, name="note", label=_("Note"), required=False)
        try:
            with transaction.atomic():
                grant.save(
                    update_fields=[
                        "fields", "conditions", "permission_number", "valid_from",
                        "valid_until", "quota", "status", "decided_by", "decided_at",
                        "decision_note", "updated_at",
                    ]
                )  # fmt: skip
        except IntegrityError:  # a concurrent approval took the number
            raise Conflict(
                _("The permission number %(number)s is already used for this dataset.")
                % {"number": number},
                code="permission_number_taken",
            ) from None
        admin_entry_create(
            action="grants.grant.approved",
            actor=actor,
            target=grant,
            institution_id=grant.recipient_id,
            changes={
                **_changes(before, grant),
                "narrowed": grant.is_narrowed,
                "note": grant.decision_note,
            },
        )
        _invalidate_on_commit()
    return grant


def _changes(before: dict[str, Any], grant: Grant) -> dict[str, Any]:
    return diff_fields(before, _snapshot(grant))


def grant_reject(*, actor: Actor, grant: Grant, note: str) -> Grant:
    """Reject a request with a note the recipient reads."""
    _require_decider(actor, grant)
    note = _text(note, name="note", label=_("Note"))
    with transaction.atomic():
        grant = _locked(grant)
        _require_decider(actor, grant)
        _require_open(grant)
        grant.status = Grant.Status.REJECTED
        grant.decided_by = acting_user(actor)
        grant.decided_at = timezone.now()
        grant.decision_note = note
        grant.save(
            update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"]
        )
        admin_entry_create(
            action="grants.grant.rejected",
            actor=actor,
            target=grant,
            institution_id=grant.recipient_id,
            changes={"status": ["requested", "rejected"], "note": note},
        )
    return grant


def grant_revoke(*, actor: Actor, grant: Grant, note: str = "") -> Grant:
    """End a grant (or withdraw a request): the provider side, an administrator, or the
    recipient's own representatives. Takes effect on the next cache refresh everywhere."""
    if not rules.can_revoke_grant(actor, grant):
        raise PermissionDenied(
            _("You may not revoke this access grant."), code="grant_revoke_denied"
        )
    note = _text(note, name="note", label=_("Note"), required=False)
    with transaction.atomic():
        grant = _locked(grant)
        if grant.status not in (Grant.Status.REQUESTED, Grant.Status.APPROVED):
            raise Conflict(
                _("Only a requested or approved grant can be revoked."),
                code="grant_not_revocable",
            )
        old = grant.status
        grant.status = Grant.Status.REVOKED
        if note:
            grant.decision_note = note
        grant.save(update_fields=["status", "decision_note", "updated_at"])
        admin_entry_create(
            action="grants.grant.revoked",
            actor=actor,
            target=grant,
            institution_id=grant.recipient_id,
            changes={"status": [old, "revoked"], "note": note},
        )
        _invalidate_on_commit()
    return grant


def grant_use_register(
    *, grant_id: int, quota: int | None, count: int = 1, today: date | None = None
) -> None:
    """Enforce a grant's daily quota: count ``count`` requests today, or raise ``QuotaExceeded``
    (counting nothing) when the quota would be exceeded. Grants without a quota write nothing
    here — their use is counted from the access audit — so the request path of most grants has
    no counter row to contend on. One conditional UPDATE (hand-written: this is the hot path),
    an INSERT on the first request of the day; the database decides under concurrency."""
    if quota is None:
        return
    if count > quota:
        rate_limit_note(quota=quota, used=quota)
        raise QuotaExceeded(code="quota_exceeded")
    today = today or timezone.localdate()
    table = GrantUsage._meta.db_table
    update = (
        f"UPDATE {table} SET count = count + %s "  # noqa: S608 - table name from the model
        "WHERE grant_id = %s AND day = %s AND count <= %s RETURNING count"
    )
    params: list[Any] = [count, grant_id, today, quota - count]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(update, params)
        row = cursor.fetchone()
        if row is None:
            try:
                with transaction.atomic():
                    GrantUsage.objects.create(grant_id=grant_id, day=today, count=count)
                row = (count,)
            except IntegrityError:  # the row exists (or appeared meanwhile): over quota?
                cursor.execute(update, params)
                row = cursor.fetchone()
        if row is None:
            rate_limit_note(quota=quota, used=quota)
            raise QuotaExceeded(code="quota_exceeded") from None
        rate_limit_note(quota=quota, used=row[0])  # RateLimit headers (dagr.core.headers)
