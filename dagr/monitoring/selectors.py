"""Reads of record sets: who may manage one, the lists of the API and the portal, the watched
identifiers page by page, and the grants a record set can be defined over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from dagr.catalog.schema import SchemaDef, parse_schema
from dagr.core import cursors
from dagr.core.actors import Actor
from dagr.core.errors import NotFound, ValidationError
from dagr.grants.conditions import validate_conditions
from dagr.grants.models import Grant
from dagr.grants.selectors import grants_usable_by
from dagr.permissions import rules

from .models import RecordSet, RecordSetIdentifier

DEFAULT_IDENTIFIER_PAGE = 1000
MAX_IDENTIFIER_PAGE = 10_000


def record_set_not_found() -> NotFound:
    """The one answer for a missing record set and one of another institution."""
    return NotFound(_("Record set not found."), code="record_set_not_found")


def record_sets_of(*, actor: Actor, dataset_code: str = "") -> QuerySet[RecordSet]:
    """The record sets of every institution the actor manages record sets for."""
    qs = RecordSet.objects.filter(institution_id__in=rules.record_set_institution_ids(actor))
    if dataset_code:
        qs = qs.filter(dataset__code=dataset_code)
    return qs.select_related("dataset", "grant", "institution").order_by(
        "institution__name", "name", "id"
    )


def record_set_get(*, actor: Actor, pk: Any) -> RecordSet:
    """The record set, or ``record_set_not_found`` when it does not exist or belongs to an
    institution the actor does not manage."""
    if isinstance(pk, bool) or not isinstance(pk, int):
        raise record_set_not_found()
    record_set = (
        RecordSet.objects.select_related("dataset", "dataset__schema", "grant", "institution")
        .filter(pk=pk)
        .first()
    )
    if record_set is None or not rules.can_manage_record_sets_of(actor, record_set.institution_id):
        raise record_set_not_found()
    return record_set


# --- watched identifiers, page by page ----------------------------------------------------------


CURSOR_PREFIX = "i1"


def _cursor_encode(value: str) -> str:
    return cursors.cursor_encode(CURSOR_PREFIX, value)


def _cursor_decode(cursor: str) -> str:
    return cursors.cursor_decode(cursor, CURSOR_PREFIX, 1)[0]


@dataclass
class IdentifierPage:
    values: list[str]
    next_cursor: str | None


def identifiers_page(
    *,
    record_set: RecordSet,
    cursor: str | None = None,
    limit: int = DEFAULT_IDENTIFIER_PAGE,
    starts_with: str = "",
) -> IdentifierPage:
    """Watched values in code point order, ``limit`` at a time after ``cursor`` (the unique
    index on (record set, value) serves the order)."""
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= MAX_IDENTIFIER_PAGE
    ):
        message = _("The page size is between 1 and %(max)s.") % {"max": MAX_IDENTIFIER_PAGE}
        raise ValidationError(
            message,
            code="invalid_limit",
            errors=[{"location": "limit", "code": "invalid_limit", "message": str(message)}],
        )
    qs = RecordSetIdentifier.objects.filter(record_set_id=record_set.pk)
    if cursor:
        qs = qs.filter(value__gt=_cursor_decode(cursor))
    if starts_with:
        qs = qs.filter(value__startswith=starts_with.strip())
    values = list(qs.order_by("value").values_list("value", flat=True)[: limit + 1])
    more = len(values) > limit
    values = values[:limit]
    return IdentifierPage(values, _cursor_encode(values[-1]) if more and values else None)


# --- grants a record set can be defined over ----------------------------------------------------


def grants_for_record_sets(*, actor: Actor) -> list[Grant]:
    """Approved, not expired grants (valid now or later) of the institutions the actor manages
    record sets for."""
    return list(
        grants_usable_by(
            institution_ids=rules.record_set_institution_ids(actor), not_yet_valid=True
        )
        .select_related("dataset", "dataset__provider", "dataset__schema", "recipient")
        .order_by("dataset__code", "permission_number")
    )


def grant_for_record_sets(*, actor: Actor, pk: Any) -> Grant:
    for grant in grants_for_record_sets(actor=actor):
        if str(grant.pk) == str(pk):
            return grant
    raise NotFound(_("No usable access grant was found."), code="grant_not_found")


def identifier_field_choices(schema: SchemaDef, granted: list[str]) -> list[tuple[str, str]]:
    """Declared identifier fields of the schema that the grant shows: ``[(path, kind)]``."""
    allowed = set(granted)
    return [(path, kind) for path, kind in schema.identifier_paths() if path in allowed]


def relative_date_conditions() -> list[tuple[int, list[Any]]]:
    """``(dataset id, conditions)`` of record sets whose conditions are relative to today
    ("older than 18 years"), for the daily re-check of the change feeds
    (``dagr.retrieval.recheck``)."""

    out: list[tuple[int, list[Any]]] = []
    for record_set in RecordSet.objects.exclude(conditions=[]).select_related("dataset__schema"):
        if not any(c.get("op") in ("older_than", "newer_than") for c in record_set.conditions):
            continue
        schema = record_set.dataset.schema
        if schema is None:
            continue
        try:
            out.append(
                (
                    record_set.dataset_id,
                    validate_conditions(record_set.conditions, parse_schema(schema.definition)),
                )
            )
        except ValidationError:
            continue  # an outdated set: its feed refuses to run anyway (record_set_outdated)
    return out
