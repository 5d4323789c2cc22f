"""One audited access to the retrieval API, as every operation makes it: who asks
(``Caller``), resolving the dataset and the grant (``_Access.resolve``), exactly one access audit
entry per request or per part of a long answer (``_Access.write`` / ``write_part``; refusals too),
counting the request against the grant's daily quota in the same transaction as the read
(``_served``) and the input checks the operations share. The operations themselves are in
``services`` (lookups and search), ``feed`` (the change feed) and ``export``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit import access as audit
from dagr.catalog.schema import extract_identifiers
from dagr.core import identifiers
from dagr.core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from dagr.core.middleware import current_request_id
from dagr.grants.cache import ActiveGrant
from dagr.grants.errors import QuotaExceeded
from dagr.grants.selectors import grant_active_for
from dagr.grants.services import grant_use_register

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
    invalid: list[str] = field(default_factory=list)
    next_cursor: str | None = None
    fields: tuple[str, ...] = ()


def record_not_found() -> NotFound:
    """The one answer for "no record", "deleted record" and "record outside the grant"."""
    return NotFound(_("No record with this identifier is available."), code="record_not_found")


# --- the audit of one access -------------------------------------------------------------------


_subject_paths: dict[tuple[int, int], tuple[DatasetInfo, ActiveGrant | None, frozenset[str]]] = {}


def subject_paths(dataset: DatasetInfo, grant: ActiveGrant | None) -> frozenset[str]:
    """``_subject_paths`` once per (dataset, grant) definition: both are immutable objects,
    replaced when their definition is reloaded, so an entry is used only for the very same
    objects (compared by identity)."""
    key = (dataset.id, grant.id if grant is not None else 0)
    cached = _subject_paths.get(key)
    if cached is not None and cached[0] is dataset and cached[1] is grant:
        return cached[2]
    paths = _subject_paths_of(dataset, grant)
    if len(_subject_paths) > 10_000:
        _subject_paths.clear()
    _subject_paths[key] = (dataset, grant, paths)
    return paths


def _subject_paths_of(dataset: DatasetInfo, grant: ActiveGrant | None) -> frozenset[str]:
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
        # The local date: the one day on which the grant's validity, its conditions and its
        # quota are judged for this access (``timezone.localdate`` once per request).
        self.today: date = timezone.localdate()

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
        audit.access_entry_record(
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
            today=self.today,
        )
        return self.dataset, self.grant


def _served(
    access: _Access,
    grant: ActiveGrant,
    today: date,
    query: Callable[[], list[dict[str, Any]]],
    *,
    empty_status: int = 200,
    subjects: Callable[[list[dict[str, Any]]], Iterable[str]] | None = None,
) -> list[dict[str, Any]]:
    """Run the query and audit it; the full records. The audit entry is committed before the
    records are returned (``access.write`` raises otherwise). The read runs outside the write
    transaction, so the database's single writer (SQLite) is held only for the audit insert;
    a grant with a daily quota counts the request and audits it in one transaction.
    ``subjects``: the records' subject values as ``access.write`` would take them from the
    records (the batch lookup's compiled form, ``batch.lookup_plan``)."""
    if grant.quota is None:
        found = query()
        _audit_served(access, found, empty_status, subjects)
        return found
    with transaction.atomic():
        grant_use_register(grant_id=grant.id, quota=grant.quota, today=today)
        found = query()
        _audit_served(access, found, empty_status, subjects)
    return found


def _audit_served(
    access: _Access,
    found: list[dict[str, Any]],
    empty_status: int,
    subjects: Callable[[list[dict[str, Any]]], Iterable[str]] | None = None,
) -> None:
    access.write(
        outcome="ok" if found else "not_found",
        status_code=200 if found else empty_status,
        records=found if subjects is None else (),
        count=len(found),
        subjects=() if subjects is None else subjects(found),
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


def _identifier_value(value: Any, location: str = "value", kind: str | None = None) -> str:
    """The value as it is stored (``identifiers.normalise`` for ``kind``), or ``invalid_value``
    when it is no identifier value at all (the kind's own check is the caller's)."""
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
    return identifiers.normalise(kind, text)


def _identifier_kind(dataset: DatasetInfo, path: str) -> str | None:
    definition = dataset.fields.get(path)
    return None if definition is None else definition.identifier


def _is_well_formed(kind: str | None, value: str) -> bool:
    """False for a value that cannot be an identifier of ``kind`` (a personal code with a wrong
    check digit, say): no record can have it."""
    return kind is None or identifiers.is_valid_identifier(kind, value)


def invalid_identifier(location: str = "value") -> ValidationError:
    return _invalid(
        _("This is not a valid value of the identifier field."), "invalid_identifier", location
    )
