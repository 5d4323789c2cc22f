"""The retrieval operations, one function per operation, shared by the API and the data viewer.

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

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit import access as audit
from dagr.catalog.schema import extract_identifiers
from dagr.core import cursors
from dagr.core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from dagr.core.middleware import current_request_id
from dagr.core.tabular import csv_stream, ndjson_stream
from dagr.grants.cache import ActiveGrant
from dagr.grants.conditions import (
    parse_condition_input,
    project_fields,
    to_sql,
    validate_conditions,
)
from dagr.grants.errors import QuotaExceeded
from dagr.grants.selectors import grant_active_for
from dagr.grants.services import grant_use_register
from dagr.records import queries

from . import changes
from .datasets import DatasetInfo, dataset_for_retrieval

MAX_BATCH = 1000
MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_VALUE_LENGTH = 255
EXPORT_BATCH = 2000
EXPORT_FORMATS = ("csv", "ndjson")
MAX_CHANGES = 10000
DEFAULT_CHANGES = 1000


class PermissionNumberRequired(DomainError):
    code = "permission_number_required"
    status = 400
    title = _("The permission number is required")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: a recipient system (``connection_id``) or a portal user (``user_id``) acting
    for ``institution_id``. ``label`` is what the audit shows (client id, e-mail)."""

    institution_id: int
    connection_id: int | None = None
    user_id: int | None = None
    label: str = ""


@dataclass
class Records:
    records: list[dict[str, Any]]
    not_found: list[str] = field(default_factory=list)
    next_cursor: str | None = None
    fields: tuple[str, ...] = ()


def record_not_found() -> NotFound:
    """The one answer for "no record", "deleted record" and "record outside the grant"."""
    return NotFound(_("No record with this identifier is available."), code="record_not_found")


# --- the audit of one access -------------------------------------------------------------------


def subject_paths(dataset: DatasetInfo, grant: ActiveGrant | None) -> frozenset[str]:
    """The identifier paths whose values in the records served are recorded as the access's
    subjects (for "who read the data of person X"): those the recipient actually received (a
    granted path, or one inside a granted list), except address codes that merely point at an
    address from another record (a person's declared address): the audit answers for persons and
    organisations, and an address dataset's own key is still recorded. Values the caller asked
    for are recorded whatever their kind."""
    fields = set(grant.fields) if grant is not None else None
    out = []
    for path in dataset.identifier_paths:
        definition = dataset.fields.get(path)
        if (
            path != dataset.key
            and definition is not None
            and definition.identifier == "address_code"
        ):
            continue
        if fields is not None and not (
            path in fields or any(path.startswith(f"{f}.") for f in fields)
        ):
            continue
        out.append(path)
    return frozenset(out)


def _outcome(exc: DomainError) -> str:
    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, PermissionDenied | QuotaExceeded):
        return "denied"
    if isinstance(exc, ValidationError | PermissionNumberRequired):
        return "invalid"
    return "error"


class _Access:
    def __init__(
        self, caller: Caller, operation: str, code: str, permission_number: str, purpose: str
    ) -> None:
        self.started = time.perf_counter()
        self.request_id = current_request_id() or ""
        self.caller = caller
        self.operation = operation
        self.code = code if isinstance(code, str) else ""
        self.permission_number = (permission_number or "").strip()
        self.purpose = (purpose or "").strip()
        self.dataset: DatasetInfo | None = None
        self.grant: ActiveGrant | None = None
        self.asked: list[str] = []
        self.written = False

    def write(
        self,
        *,
        outcome: str,
        status_code: int,
        records: Iterable[dict[str, Any]] = (),
        count: int = 0,
        subjects: Iterable[str] = (),
    ) -> None:
        """Exactly one entry per access; raises ``AuditUnavailable``."""
        if self.written:
            return
        self.written = True
        identifiers = list(self.asked)
        identifiers.extend(subjects)
        if self.dataset is not None:
            paths = subject_paths(self.dataset, self.grant)
            for data in records:
                identifiers.extend(
                    v for p, v in extract_identifiers(self.dataset.schema, data) if p in paths
                )
        audit.access_entry_write(
            operation=self.operation,
            outcome=outcome,
            dataset_id=self.dataset.id if self.dataset else None,
            dataset_code=self.code,
            institution_id=self.caller.institution_id,
            connection_id=self.caller.connection_id,
            user_id=self.caller.user_id,
            actor_label=self.caller.label,
            grant_id=self.grant.id if self.grant else None,
            permission_number=self.permission_number,
            purpose=self.purpose,
            identifiers=identifiers,
            records_returned=count,
            fields=list(self.grant.fields) if self.grant and count else [],
            status_code=status_code,
            duration_ms=(time.perf_counter() - self.started) * 1000,
            request_id=self.request_id,
        )

    def write_part(
        self,
        *,
        count: int,
        subjects: Iterable[str],
        outcome: str = "ok",
        status_code: int = 200,
    ) -> None:
        """One entry for one part of a long answer (an export page), written before the part
        is sent; raises ``AuditUnavailable``."""
        self.written = False
        self.write(outcome=outcome, status_code=status_code, count=count, subjects=subjects)

    def refused(self, exc: DomainError) -> None:
        if not self.written and not isinstance(exc, audit.AuditUnavailable):
            self.write(outcome=_outcome(exc), status_code=exc.status)

    def resolve(self) -> tuple[DatasetInfo, ActiveGrant]:
        if not self.permission_number:
            raise PermissionNumberRequired(
                _(
                    "Send the permission number of your access grant in the X-Permission-Number "
                    "header."
                )
            )
        self.dataset = dataset_for_retrieval(self.code)
        self.grant = grant_active_for(
            institution_id=self.caller.institution_id,
            dataset_id=self.dataset.id,
            permission_number=self.permission_number,
        )
        return self.dataset, self.grant


def _served(
    access: _Access,
    grant: ActiveGrant,
    today: date,
    query: Callable[[], list[dict[str, Any]]],
    *,
    empty_status: int = 200,
) -> list[dict[str, Any]]:
    """Run the query and audit it; the full records. The audit entry is committed before the
    records are returned (``access.write`` raises otherwise). The read runs outside the write
    transaction, so the database's single writer (SQLite) is held only for the audit insert;
    a grant with a daily quota counts the request and audits it in one transaction."""
    if grant.quota is None:
        found = query()
        _audit_served(access, found, empty_status)
        return found
    with transaction.atomic():
        grant_use_register(grant_id=grant.id, quota=grant.quota, today=today)
        found = query()
        _audit_served(access, found, empty_status)
    return found


def _audit_served(access: _Access, found: list[dict[str, Any]], empty_status: int) -> None:
    access.write(
        outcome="ok" if found else "not_found",
        status_code=200 if found else empty_status,
        records=found,
        count=len(found),
    )


# --- input checks ------------------------------------------------------------------------------


def _invalid(message: Any, code: str, location: str) -> ValidationError:
    return ValidationError(
        message, code=code, errors=[{"location": location, "code": code, "message": str(message)}]
    )


def _check_limit(limit: Any, maximum: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise _invalid(
            _("The page size is between 1 and %(max)s.") % {"max": maximum},
            "invalid_limit",
            "limit",
        )


def _identifier_path(dataset: DatasetInfo, name: Any) -> str:
    if not isinstance(name, str) or name not in dataset.identifier_paths:
        raise _invalid(
            _("'%(field)s' is not an identifier field of this dataset.")
            % {"field": str(name)[:100]},
            "unknown_identifier",
            "field",
        )
    return name


def _identifier_value(value: Any, location: str = "value") -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _invalid(
            _("An identifier value must be text or a number."), "invalid_value", location
        )
    text = str(value).strip()
    if not text or len(text) > MAX_VALUE_LENGTH or "\x00" in text:
        raise _invalid(
            _("An identifier value has 1 to %(max)s characters.") % {"max": MAX_VALUE_LENGTH},
            "invalid_value",
            location,
        )
    return text


# --- operations --------------------------------------------------------------------------------


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
    nested ones like ``board_members.personal_code`` included). ``NotFound``
    (``record_not_found``) when none is visible."""
    access = _Access(caller, "record.get", dataset_code, permission_number, purpose)
    if isinstance(value, str | int) and not isinstance(value, bool):
        access.asked = [str(value).strip()[:MAX_VALUE_LENGTH]]
    try:
        dataset, grant = access.resolve()
        path = _identifier_path(dataset, field)
        text = _identifier_value(value)
        today = timezone.localdate()
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
    """Batch lookup of up to 1,000 values of one identifier field. ``not_found`` lists the
    values without a visible record (missing, deleted or outside the grant alike)."""
    access = _Access(caller, "record.lookup", dataset_code, permission_number, purpose)
    if isinstance(values, list):
        access.asked = [
            str(v).strip()[:MAX_VALUE_LENGTH]
            for v in values[:MAX_BATCH]
            if isinstance(v, str | int) and not isinstance(v, bool)
        ]
    try:
        dataset, grant = access.resolve()
        path = _identifier_path(dataset, field)
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_BATCH:
            raise _invalid(
                _("Give between 1 and %(max)s values.") % {"max": MAX_BATCH},
                "invalid_values",
                "values",
            )
        wanted = list(
            dict.fromkeys(_identifier_value(v, f"values.{n}") for n, v in enumerate(values))
        )
        today = timezone.localdate()
        where, params = grant.where(column=queries.DATA_COLUMN, today=today)
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
                matched.setdefault(value, []).append(pk)
                by_id[pk] = data
            order = dict.fromkeys(pk for value in wanted for pk in matched.get(value, []))
            return [by_id[pk] for pk in order]

        found = _served(access, grant, today, query)
    except DomainError as exc:
        access.refused(exc)
        raise
    return Records(
        [project_fields(d, grant.tree) for d in found],
        not_found=[v for v in wanted if v not in matched],
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
        today = timezone.localdate()
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


def records_changes(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    purpose: str = "",
    cursor: str | None = None,
    limit: int = DEFAULT_CHANGES,
    member: changes.Member | None = None,
    member_on: Callable[[date], changes.Member] | None = None,
    terms: str = "",
    operation: str = "record.changes",
    scan_limit: int | None = None,
) -> changes.ChangesPage:
    """One page of the dataset's change feed as the grant (and ``member``, a record set's
    membership test) shows it, after ``cursor`` (from the beginning without one): see
    ``dagr.retrieval.changes``. ``terms`` describes the record set's definition and goes into
    the cursor's digest. One audit entry per page (identifiers of the returned records and the
    keys reported deleted), committed before the page is returned."""
    access = _Access(caller, operation, dataset_code, permission_number, purpose)
    try:
        dataset, grant = access.resolve()
        _check_limit(limit, MAX_CHANGES)
        digest = changes.terms_digest(grant, terms)
        after = changes.cursor_decode(cursor, digest)
        today = timezone.localdate()

        def read() -> changes.ChangesPage:
            page = changes.changes_read(
                dataset_id=dataset.id,
                grant=grant,
                after=after,
                limit=limit,
                today=today,
                digest=digest,
                member=member,
                member_on=member_on,
                scan_limit=scan_limit,
            )
            access.write(
                outcome="ok",
                status_code=200,
                records=page.returned,
                count=len(page.changes),
                subjects=page.removed_keys,
            )
            return page

        if grant.quota is None:
            page = read()
        else:
            with transaction.atomic():
                grant_use_register(grant_id=grant.id, quota=grant.quota, today=today)
                page = read()
    except DomainError as exc:
        access.refused(exc)
        raise
    return page


@dataclass
class Export:
    """A streamed export: iterate ``chunks`` exactly once (the audit entry is written at its
    end)."""

    format: str
    content_type: str
    filename: str
    chunks: Iterator[str | bytes]
    columns: list[str]


def export_columns(dataset: DatasetInfo, grant: ActiveGrant) -> list[str]:
    """The top-level granted fields in schema order (lists become one JSON cell in CSV)."""
    return [f.name for f in dataset.schema.fields if f.name in grant.tree]


def records_export(
    *,
    caller: Caller,
    dataset_code: str,
    permission_number: str,
    format: str = "csv",
    purpose: str = "",
) -> Export:
    """Everything the grant allows as CSV (formula-safe) or NDJSON, streamed in record id
    order. Refusals raise before the stream starts (audited as usual); each page of the export
    gets its own audit entry, committed before the page's records are produced."""
    access = _Access(caller, "record.export", dataset_code, permission_number, purpose)
    try:
        dataset, grant = access.resolve()
        if format not in EXPORT_FORMATS:
            raise _invalid(
                _("The format is one of: %(formats)s.") % {"formats": ", ".join(EXPORT_FORMATS)},
                "invalid_format",
                "format",
            )
        today = timezone.localdate()
        where, params = grant.where(column=queries.DATA_COLUMN, today=today)
        grant_use_register(grant_id=grant.id, quota=grant.quota, today=today)
    except DomainError as exc:
        access.refused(exc)
        raise
    columns = export_columns(dataset, grant)
    paths = subject_paths(dataset, grant)
    state = {"count": 0}

    def rows() -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = queries.records_page(
                dataset_id=dataset.id, after_id=after, limit=EXPORT_BATCH, where=where,
                params=params,
            )  # fmt: skip
            if page:
                # Each page is audited (and committed) before any of its records is produced,
                # so no record leaves without its audit entry, however long the export.
                subjects = {
                    v
                    for _pk, data in page
                    for p, v in extract_identifiers(dataset.schema, data)
                    if p in paths
                }
                access.write_part(count=len(page), subjects=subjects)
            for pk, data in page:
                after = pk
                state["count"] += 1
                yield project_fields(data, grant.tree)
            if len(page) < EXPORT_BATCH:
                return

    body: Iterator[Any] = csv_stream(columns, rows()) if format == "csv" else ndjson_stream(rows())

    def chunks() -> Iterator[Any]:
        try:
            yield from body
        except (Exception, GeneratorExit):
            # The stream broke off (database or audit error, client gone): an entry says so.
            with contextlib.suppress(audit.AuditUnavailable):
                access.write_part(count=0, subjects=(), outcome="error", status_code=500)
            raise
        if state["count"] == 0:
            access.write(outcome="ok", status_code=200, count=0)

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return Export(
        format=format,
        content_type="text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson",
        filename=f"{dataset.code}-{stamp}.{format}",
        chunks=chunks(),
        columns=columns,
    )
