"""The retrieval operations, one function per operation, shared by the API and the data viewer.
Lookups and search are here; the change feed is in ``feed``, the export in ``export`` and the
audited access every operation makes in ``access`` (all importable from here).

Every operation: resolves the dataset (a production dataset by code, else ``NotFound``), the
grant (``grant_active_for``: ``grant_missing`` / ``grant_revoked`` / ``grant_expired`` /
``grant_not_yet_valid`` / ``grant_invalid``), checks the input against the schema and the grant,
then in ONE transaction counts the request (``grant_use_register`` → 429 ``quota_exceeded``),
runs the query narrowed by the grant's conditions, projects the granted fields and writes the
access audit entry. If the audit entry cannot be written, ``AuditUnavailable`` (503) propagates
and nothing is returned (nor counted). Refused requests (denied, invalid, not found) are audited
too, each with exactly one entry.

A record outside the grant's conditions and a record that does not exist give the same answer:
the conditions are part of the SQL, so the two cases cannot even be told apart here.

Export is streamed: its one audit entry is written when the stream ends (with the number of
records and whether the stream completed); the last chunk is held back until that entry is
committed, so a failed audit write cuts the download short instead of completing it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _

from dagr.core import cursors, identifiers
from dagr.core.errors import DomainError, ValidationError
from dagr.grants.cache import ActiveGrant
from dagr.grants.conditions import parse_condition_input, to_sql, validate_conditions
from dagr.grants.fields import project_fields
from dagr.records import queries

from . import batch
from .access import (
    DEFAULT_CHANGES,
    DEFAULT_PAGE,
    MAX_BATCH,
    MAX_CHANGES,
    MAX_PAGE,
    MAX_VALUE_LENGTH,
    Caller,
    PermissionNumberRequired,
    Records,
    _Access,
    _check_limit,
    _identifier_kind,
    _identifier_path,
    _identifier_value,
    _invalid,
    _is_well_formed,
    _served,
    invalid_identifier,
    record_not_found,
    subject_paths,
)
from .datasets import DatasetInfo
from .export import Export, export_columns, records_export
from .feed import records_changes

__all__ = [
    "DEFAULT_CHANGES",
    "DEFAULT_PAGE",
    "MAX_BATCH",
    "MAX_CHANGES",
    "MAX_PAGE",
    "MAX_VALUE_LENGTH",
    "Caller",
    "Export",
    "PermissionNumberRequired",
    "Records",
    "export_columns",
    "record_get",
    "record_not_found",
    "records_changes",
    "records_export",
    "records_lookup",
    "records_search",
    "subject_paths",
]


# --- operations: lookups and search ------------------------------------------------------------


def record_get(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    field: str,
    value: str,
    purpose: str = "",
) -> Records:
    """Records having ``value`` in identifier field ``field`` (any declared identifier path,
    nested ones like ``board_members.personal_code`` included), in any written form of the
    kind (``301227-18203`` = ``30122718203``). ``NotFound`` (``record_not_found``) when none is
    visible; ``invalid_identifier`` (422) when the value cannot be one of the field's kind."""
    access = _Access(caller, "record.get", dataset_code, permission_number, purpose)
    if isinstance(value, str | int) and not isinstance(value, bool):
        access.asked = [str(value).strip()[:MAX_VALUE_LENGTH]]
    try:
        dataset, grant = access.resolve()
        path = _identifier_path(dataset, field)
        kind = _identifier_kind(dataset, path)
        text = _identifier_value(value, kind=kind)
        if not _is_well_formed(kind, text):
            raise invalid_identifier()
        today = access.today
        where, params = grant.where(column=queries.DATA_COLUMN, today=today)

        def query() -> list[dict[str, Any]]:
            rows = queries.records_by_identifier(
                dataset_id=dataset.id,
                path=path,
                key_path=dataset.key,
                value=text,
                where=where,
                params=params,
                limit=MAX_BATCH,
            )
            return [data for _pk, data in rows]

        found = _served(access, grant, today, query, empty_status=404)
    except DomainError as exc:
        access.refused(exc)
        raise
    if not found:
        raise record_not_found()
    return Records([project_fields(d, grant.tree) for d in found], fields=grant.fields)


def records_lookup(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    field: str,
    values: list[Any],
    purpose: str = "",
) -> Records:
    """Batch lookup of up to 1,000 values of one identifier field, in any written form of the
    kind. ``not_found`` lists the values without a visible record (missing, deleted or outside
    the grant alike), ``invalid`` those that cannot be a value of the field's kind (a personal
    code with a wrong check digit); both as the caller wrote them."""
    access = _Access(caller, "record.lookup", dataset_code, permission_number, purpose)
    if isinstance(values, list):
        access.asked = batch.asked_values(values, MAX_BATCH)
    try:
        dataset, grant = access.resolve()
        path = _identifier_path(dataset, field)
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_BATCH:
            raise _invalid(
                _("Give between 1 and %(max)s values.") % {"max": MAX_BATCH},
                "invalid_values",
                "values",
            )
        sent, invalid = batch.sort_values(values, _identifier_kind(dataset, path))
        wanted = list(sent)
        today = access.today
        where, params = grant.where(column=queries.DATA_COLUMN, today=today)
        plan = batch.lookup_plan(dataset, grant)
        matched: dict[str, list[int]] = {}

        def query() -> list[dict[str, Any]]:
            by_id: dict[int, dict[str, Any]] = {}
            for value, pk, data in queries.records_by_identifiers(
                dataset_id=dataset.id,
                path=path,
                key_path=dataset.key,
                values=wanted,
                where=where,
                params=params,
            ):
                pks = matched.get(value)
                if pks is None:
                    matched[value] = [pk]
                else:
                    pks.append(pk)
                by_id[pk] = data
            order = dict.fromkeys(pk for value in wanted for pk in matched.get(value, ()))
            return [by_id[pk] for pk in order]

        # ``_served`` with the subjects taken by the plan instead of from every record by
        # ``access.write`` (the same values: ``batch``).
        found = _served(access, grant, today, query, subjects=plan.subjects)
    except DomainError as exc:
        access.refused(exc)
        raise
    project = plan.project
    return Records(
        [project(d) for d in found],
        not_found=[sent[v] for v in wanted if v not in matched],
        invalid=invalid,
        fields=grant.fields,
    )


def _cursor_encode(last_id: int) -> str:
    return cursors.cursor_encode("r1", last_id)


def _cursor_decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    (number,) = cursors.cursor_decode(cursor, "r1", 1)
    if not number.isdigit() or len(number) > 18:
        raise cursors.invalid_cursor()
    return int(number)


def _filter_sql(
    dataset: DatasetInfo, grant: ActiveGrant, filters: dict[str, str], today: date
) -> tuple[str, list[Any], list[str]]:
    """Equality filters on top-level scalar fields the grant allows, as SQL over ``r.data``
    (the condition engine's ``eq``, so the semantics are the grant conditions' own). Returns
    the fragment, its parameters and the filter values given for identifier fields."""
    errors: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    asked: list[str] = []
    for name, value in filters.items():
        definition = dataset.fields.get(name)
        if definition is None or "." in name:
            message = _("'%(field)s' is not a field of this dataset.") % {"field": name[:100]}
            errors.append({"location": name[:100], "code": "unknown_field", "message": message})
        elif name not in grant.tree:
            message = _("Your access grant does not include the field '%(field)s'.") % {
                "field": name
            }
            errors.append({"location": name, "code": "field_not_granted", "message": message})
        elif definition.type == "list":
            message = _("Lists cannot be filtered ('%(field)s').") % {"field": name}
            errors.append({"location": name, "code": "filter_not_supported", "message": message})
        else:
            if definition.identifier:
                value = identifiers.normalise(definition.identifier, value)
            documents.append(
                parse_condition_input(dataset.schema, field=name, op="eq", value=str(value))
            )
            if definition.identifier:
                asked.append(str(value).strip()[:MAX_VALUE_LENGTH])
    if not errors and documents:
        try:
            conditions = validate_conditions(documents, dataset.schema)
        except ValidationError as exc:
            for error in exc.errors:
                tail = str(error.get("location", "")).rsplit(".", 1)[-1]
                where_ = documents[int(tail)]["field"] if tail.isdigit() else "filters"
                errors.append({**error, "location": where_})
        else:
            where, params = to_sql(conditions, column=queries.DATA_COLUMN, today=today)
            return where, params, asked
    if errors:
        raise ValidationError(
            _("The filters are not valid."), code="invalid_filters", errors=errors
        )
    return "1 = 1", [], asked


def _combined_where(
    dataset: DatasetInfo, grant: ActiveGrant, filters: dict[str, str], today: date
) -> tuple[str, list[Any], list[str]]:
    where, params = grant.where(column=queries.DATA_COLUMN, today=today)
    extra, extra_params, asked = _filter_sql(dataset, grant, filters, today)
    return f"({where}) AND ({extra})", [*params, *extra_params], asked


def records_search(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    filters: dict[str, str] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
    purpose: str = "",
) -> Records:
    """One page of the records the grant allows that equal every filter, in record id order;
    ``next_cursor`` continues after the page (None on the last page)."""
    access = _Access(caller, "record.search", dataset_code, permission_number, purpose)
    try:
        dataset, grant = access.resolve()
        _check_limit(limit, MAX_PAGE)
        after = _cursor_decode(cursor)
        today = access.today
        where, params, access.asked = _combined_where(dataset, grant, filters or {}, today)
        last: list[int] = []
        more: list[bool] = [False]

        def query() -> list[dict[str, Any]]:
            rows = queries.records_page(
                dataset_id=dataset.id, after_id=after, limit=limit + 1, where=where, params=params
            )
            more[0] = len(rows) > limit
            rows = rows[:limit]
            last.extend(pk for pk, _data in rows[-1:])
            return [data for _pk, data in rows]

        found = _served(access, grant, today, query)
    except DomainError as exc:
        access.refused(exc)
        raise
    return Records(
        [project_fields(d, grant.tree) for d in found],
        next_cursor=_cursor_encode(last[0]) if more[0] and last else None,
        fields=grant.fields,
    )
