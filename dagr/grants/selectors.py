"""Reads of grants: the portal lists (narrowed through ``dagr.permissions.rules``) and the hot
path ``grant_active_for`` the retrieval API calls on every request (served from
``dagr.grants.cache`` without a query)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.access_selectors import ANSWERED, grant_use_counts
from dagr.audit.models import AccessEntry
from dagr.catalog import hooks
from dagr.catalog.models import Dataset
from dagr.catalog.schema import SchemaDef, parse_schema
from dagr.catalog.selectors import datasets_visible_to, schema_rows
from dagr.core.actors import Actor
from dagr.core.errors import NotFound
from dagr.permissions import rules

from .cache import ActiveGrant, grant_cache
from .conditions import OPERATOR_LABELS
from .errors import grant_unavailable
from .models import Grant


def start_of_day(today: date | None = None) -> datetime:
    """Local midnight of ``today`` as an aware datetime (daily counts use the local day)."""
    day = today or timezone.localdate()
    return timezone.make_aware(datetime.combine(day, time.min))


def _with_use_count(qs: QuerySet[Grant]) -> QuerySet[Grant]:
    """``use_count``: requests answered under each grant, from the access audit (the one record
    of every access; nothing on the request path counts them twice)."""
    served = (
        AccessEntry.objects.filter(grant_id=OuterRef("pk"), outcome__in=ANSWERED)
        .order_by()
        .values("grant_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(use_count=Coalesce(Subquery(served, output_field=IntegerField()), 0))


def grants_visible_to(actor: Actor) -> QuerySet[Grant]:
    qs = Grant.objects.select_related("recipient", "dataset", "dataset__provider", "requested_by")
    visible = rules.grant_visibility(actor)
    return _with_use_count(qs if visible is None else qs.filter(visible))


def grant_list_for_recipient(*, actor: Actor) -> QuerySet[Grant]:
    """Grants of the institutions the actor represents as a recipient (or signatory)."""
    if rules.is_portal_admin(actor):
        return Grant.objects.none()
    ids = rules.grant_recipient_institution_ids(actor)
    return grants_visible_to(actor).filter(recipient_id__in=ids)


def grant_list_for_provider(*, actor: Actor, status: str = "") -> QuerySet[Grant]:
    """Grants for the datasets of the actor's provider institutions (all, for administrators),
    open requests first."""
    qs = grants_visible_to(actor)
    review = rules.grant_review_scope(actor)
    if review is not None:
        qs = qs.filter(review)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-status", "-created_at")  # "requested" sorts before "rejected", …


def grant_list_of_institution(*, actor: Actor, institution_id: int) -> QuerySet[Grant]:
    return grants_visible_to(actor).filter(recipient_id=institution_id)


def grant_get_for(*, actor: Actor, pk: int) -> Grant:
    """The grant, or ``NotFound`` when it does not exist or the actor may not see it."""
    grant = grants_visible_to(actor).select_related("decided_by", "dataset__schema").filter(pk=pk)
    found = grant.first()
    if found is None:
        raise NotFound(_("No such access grant."), code="grant_not_found")
    return found


def requestable_datasets(*, actor: Actor) -> QuerySet[Dataset]:
    """Datasets a recipient may request access to: production datasets it can see, and the
    sandbox datasets open to everyone (test datasets: sandbox grants)."""
    return (
        datasets_visible_to(actor)
        .filter(
            Q(status=Dataset.Status.PRODUCTION) | Q(pk__in=hooks.open_sandbox_ids()),
            schema__isnull=False,
        )
        .select_related("provider", "schema")
        .order_by("code")
    )


def requestable_dataset_get(*, actor: Actor, code: str) -> Dataset:
    dataset = requestable_datasets(actor=actor).filter(code=code).first()
    if dataset is None:
        raise NotFound(
            _("No such dataset, or access to it cannot be requested."), code="dataset_not_found"
        )
    return dataset


def grant_schema(grant: Grant) -> SchemaDef | None:
    schema = grant.dataset.schema
    return parse_schema(schema.definition) if schema else None


def dataset_schema_of(dataset: Dataset) -> SchemaDef:
    if dataset.schema is None:
        raise NotFound(_("The dataset has no schema yet."), code="dataset_without_schema")
    return parse_schema(dataset.schema.definition)


def describe_condition(condition: dict[str, Any], titles: dict[str, str]) -> str:
    """A condition in words: "Birth date is older than 18 years"."""
    name = condition.get("field", "")
    op = condition.get("op", "")
    value = condition.get("value")
    field_label = titles.get(name, name)
    text = f"{field_label} {OPERATOR_LABELS.get(op, op)}"
    if isinstance(value, dict):
        units = {"years": _("%(n)s years"), "months": _("%(n)s months"), "days": _("%(n)s days")}
        text += " " + ", ".join(
            str(units[u]) % {"n": n} if u in units else f"{n} {u}" for u, n in value.items()
        )
    elif op == "between" and isinstance(value, list) and len(value) == 2:
        text += f" {value[0]} — {value[1]}"
    elif isinstance(value, list):
        text += " " + "; ".join(str(v) for v in value)
    elif value is not None:
        text += f" {value}"
    return text


@dataclass
class FieldChoice:
    path: str
    title: str
    requested: bool
    approved: bool


def grant_detail_context(*, grant: Grant) -> dict[str, Any]:
    """What the grant page shows: the requested and approved versions side by side (so a
    narrowed approval is visible), the conditions in words and today's use."""

    schema = grant_schema(grant)
    titles = {row.path: row.title for row in schema_rows(schema)} if schema else {}
    paths = [row.path for row in schema_rows(schema)] if schema else []
    listed = [p for p in paths if p in grant.requested_fields or p in grant.fields]
    fields = [
        FieldChoice(p, titles.get(p, p), p in grant.requested_fields, p in grant.fields)
        for p in listed
    ]
    return {
        "grant": grant,
        "fields": fields,
        "requested_conditions": [describe_condition(c, titles) for c in grant.requested_conditions],
        "approved_conditions": [
            (describe_condition(c, titles), c in grant.requested_conditions)
            for c in grant.conditions
        ],
        "decided": grant.decided_at is not None,
        "used_today": grant_usage_today(grant=grant),
    }


def grant_usage_today(*, grant: Grant, today: date | None = None) -> int:
    """Requests answered under the grant today (local day), from the access audit."""
    return grant_use_counts([grant.pk], since=start_of_day(today)).get(grant.pk, (0, 0))[1]


# --- which grants an institution may use: the one place for this question ---------------------


def grants_issued() -> QuerySet[Grant]:
    """Every grant that was issued to a recipient: approved (usable or not today: expired, not
    yet valid) or revoked since, with a permission number. The per-process cache loads these
    (``cache.load_active_grants``) and tells the states apart at lookup time."""
    return Grant.objects.filter(status__in=[Grant.Status.APPROVED, Grant.Status.REVOKED]).exclude(
        permission_number=""
    )


def grants_issued_to(
    *, institution_ids: Collection[int], production_only: bool = False
) -> QuerySet[Grant]:
    """The grants issued to these institutions, usable or not (``grants_issued``): what the
    "current permissions" call and the data viewer list, so a recipient sees why a grant it had
    cannot be used (expired, not yet valid, revoked). ``production_only``: only grants for
    datasets in production (the data viewer)."""
    qs = grants_issued().filter(recipient_id__in=institution_ids)
    if production_only:
        qs = qs.filter(dataset__status=Dataset.Status.PRODUCTION)
    return qs


def grants_usable_by(
    *, institution_ids: Collection[int], on: date | None = None, not_yet_valid: bool = False
) -> QuerySet[Grant]:
    """The grants these institutions may use on ``on`` (today, local date): approved, with a
    permission number, within their validity period (dates inclusive). ``not_yet_valid``: also
    approved grants whose validity starts later (a record set may be defined over a grant before
    it takes effect; an expired or revoked one never). The per-request check of the retrieval
    API is ``grant_active_for`` (the same answer, from the per-process cache)."""
    day = on or timezone.localdate()
    qs = (
        Grant.objects.filter(recipient_id__in=institution_ids, status=Grant.Status.APPROVED)
        .exclude(permission_number="")
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
    )
    if not not_yet_valid:
        qs = qs.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
    return qs


# --- the hot path ------------------------------------------------------------------------------


def grant_active_for(
    *, institution_id: int, dataset_id: int, permission_number: str, today: date | None = None
) -> ActiveGrant:
    """The grant a recipient system uses for one request, from the per-process cache (no query
    in the common case). Raises ``GrantUnavailable`` with the code ``grant_missing``,
    ``grant_revoked``, ``grant_expired``, ``grant_not_yet_valid`` or ``grant_invalid``.
    The daily quota is checked when the request is counted: ``services.grant_use_register``."""
    grant = grant_cache.get(institution_id, dataset_id, (permission_number or "").strip())
    if grant is None:
        raise grant_unavailable("grant_missing")
    if grant.status == Grant.Status.REVOKED:
        raise grant_unavailable("grant_revoked")
    today = today or timezone.localdate()
    if grant.valid_until is not None and today > grant.valid_until:
        raise grant_unavailable("grant_expired")
    if grant.valid_from is not None and today < grant.valid_from:
        raise grant_unavailable("grant_not_yet_valid")
    if not grant.valid_schema:
        raise grant_unavailable("grant_invalid")
    return grant
