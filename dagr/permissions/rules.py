"""Who may do what in the portal and the management API — the ONE place for role rules.

Every rule is a plain function ``(actor, [object]) -> bool``. Views, API handlers, services and
templates (through the ``can`` template filter) ask these; nothing else checks roles.
Record visibility (which records and fields a recipient sees) is a different question and lives
in ``dagr.grants``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from dagr.accounts.models import Institution, Membership, User

if TYPE_CHECKING:
    from dagr.catalog.models import Dataset

Role = Membership.Role


def is_authenticated(actor: Any) -> bool:
    return bool(actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active)


def is_portal_admin(actor: Any) -> bool:
    return is_authenticated(actor) and bool(actor.is_portal_admin)


def institution_ids_with_role(actor: Any, *roles: str) -> set[int]:
    """Ids of institutions in which the actor holds any of ``roles`` (cached per actor object)."""
    if not is_authenticated(actor) or getattr(actor, "is_system", False):
        return set()
    cache: dict[str, list[tuple[int, str]]] = actor.__dict__.setdefault("_dagr_roles", {})
    if "all" not in cache:
        cache["all"] = list(
            Membership.objects.filter(
                user=actor, institution__status=Institution.Status.ACTIVE
            ).values_list("institution_id", "role")
        )
    return {iid for iid, role in cache["all"] if role in roles}


def has_role(actor: Any, institution: Institution | int | None, role: str) -> bool:
    if institution is None:
        return False
    iid = institution if isinstance(institution, int) else institution.pk
    return iid in institution_ids_with_role(actor, role)


def forget_cached_roles(actor: Any) -> None:
    if actor is not None:
        actor.__dict__.pop("_dagr_roles", None)


# --- institutions and users --------------------------------------------------------------------


def can_manage_institutions(actor: Any) -> bool:
    """Create institutions, change their kind and status."""
    return is_portal_admin(actor)


def can_manage_users_of(actor: Any, institution: Institution | int) -> bool:
    """Approve applications, assign roles, block and edit the users of one institution."""
    return is_portal_admin(actor) or has_role(actor, institution, Role.SIGNATORY)


def can_manage_user(actor: Any, user: User) -> bool:
    """An administrator manages anyone; a signatory manages users who belong only to institutions
    the signatory manages (so a signatory cannot block a user of another institution)."""
    if is_portal_admin(actor):
        return True
    if not is_authenticated(actor) or user.is_portal_admin:
        return False
    managed = institution_ids_with_role(actor, Role.SIGNATORY)
    theirs = set(user.memberships.values_list("institution_id", flat=True)) | set(
        user.applications.values_list("institution_id", flat=True)
    )
    return bool(theirs) and theirs <= managed


def manageable_institutions(actor: Any) -> QuerySet[Institution]:
    if is_portal_admin(actor):
        return Institution.objects.all()
    return Institution.objects.filter(pk__in=institution_ids_with_role(actor, Role.SIGNATORY))


def can_view_admin_audit(actor: Any) -> bool:
    return is_portal_admin(actor)


# --- datasets ----------------------------------------------------------------------------------


def can_create_dataset_for(actor: Any, institution: Institution | int) -> bool:
    if isinstance(institution, int):
        institution = Institution.objects.get(pk=institution)
    if not institution.is_provider:
        return False
    return is_portal_admin(actor) or has_role(actor, institution, Role.PROVIDER)


def can_edit_dataset(actor: Any, dataset: Dataset) -> bool:
    """Edit metadata and schema, load data."""
    return is_portal_admin(actor) or has_role(actor, dataset.provider_id, Role.PROVIDER)


def can_change_dataset_status(actor: Any, dataset: Dataset, status: str) -> bool:
    """Providers retire their datasets; only an administrator promotes to production."""
    if is_portal_admin(actor):
        return True
    return status != "production" and can_edit_dataset(actor, dataset)


def provider_institutions(actor: Any) -> QuerySet[Institution]:
    """Institutions for which the actor may define datasets."""
    kinds = [Institution.Kind.PROVIDER, Institution.Kind.BOTH]
    qs = Institution.objects.filter(kind__in=kinds, status=Institution.Status.ACTIVE)
    if is_portal_admin(actor):
        return qs
    return qs.filter(pk__in=institution_ids_with_role(actor, Role.PROVIDER))


RULES: dict[str, Any] = {
    "manage_institutions": can_manage_institutions,
    "manage_users_of": can_manage_users_of,
    "manage_user": can_manage_user,
    "view_admin_audit": can_view_admin_audit,
    "create_dataset_for": can_create_dataset_for,
    "edit_dataset": can_edit_dataset,
    "is_portal_admin": is_portal_admin,
}
