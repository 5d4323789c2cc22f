"""Who may do what in the portal and the management API — the ONE place for role rules.

Every rule is a plain function ``(actor, [object]) -> bool``. Views, API handlers, services and
templates (through the ``can`` template filter) ask these; nothing else checks roles.
Record visibility (which records and fields a recipient sees) is a different question and lives
in ``dagr.grants``.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Any, TypeGuard

from django.conf import settings
from django.db import models
from django.db.models import QuerySet

from dagr.accounts.models import Institution, Membership, User
from dagr.core.actors import Actor, Visitor, is_connection

if TYPE_CHECKING:
    from dagr.catalog.models import Dataset

Role = Membership.Role


def is_authenticated(actor: Visitor) -> TypeGuard[Actor]:
    return bool(actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active)


def is_portal_admin(actor: Visitor) -> bool:
    return is_authenticated(actor) and bool(actor.is_portal_admin)


def institution_ids_with_role(actor: Visitor, *roles: str) -> set[int]:
    """Ids of institutions in which the actor holds any of ``roles`` (cached per actor object)."""
    if not is_authenticated(actor) or getattr(actor, "is_system", False) or actor.pk is None:
        return set()  # the system and a connection hold no memberships
    cache: dict[str, list[tuple[int, str]]] = actor.__dict__.setdefault("_dagr_roles", {})
    if "all" not in cache:
        cache["all"] = list(
            Membership.objects.filter(
                user_id=actor.pk,
                institution__status=Institution.Status.ACTIVE,
                status=Membership.Status.ACTIVE,  # a suspended role gives no rights
            ).values_list("institution_id", "role")
        )
    return {iid for iid, role in cache["all"] if role in roles}


def has_role(actor: Visitor, institution: Institution | int | None, role: str) -> bool:
    if institution is None:
        return False
    iid = institution if isinstance(institution, int) else institution.pk
    return iid in institution_ids_with_role(actor, role)


def forget_cached_roles(actor: Visitor) -> None:
    if actor is not None:
        actor.__dict__.pop("_dagr_roles", None)


# --- institutions and users --------------------------------------------------------------------


def can_manage_institutions(actor: Visitor) -> bool:
    """Create institutions, change their kind and status."""
    return is_portal_admin(actor)


def can_manage_users_of(actor: Visitor, institution: Institution | int) -> bool:
    """Approve applications, assign roles, block and edit the users of one institution."""
    return is_portal_admin(actor) or has_role(actor, institution, Role.SIGNATORY)


def can_manage_user(actor: Visitor, user: User) -> bool:
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


def manageable_institutions(actor: Visitor) -> QuerySet[Institution]:
    if is_portal_admin(actor):
        return Institution.objects.all()
    return Institution.objects.filter(pk__in=institution_ids_with_role(actor, Role.SIGNATORY))


def can_view_admin_audit(actor: Visitor) -> bool:
    return is_portal_admin(actor)


def can_manage_some_users(actor: Visitor) -> bool:
    """Administrators and signatory contact persons (of any institution) have a user list."""
    return is_portal_admin(actor) or bool(institution_ids_with_role(actor, Role.SIGNATORY))


def can_view_institution(actor: Visitor, institution: Institution) -> bool:
    return can_manage_users_of(actor, institution)


def can_view_user(actor: Visitor, user: User) -> bool:
    """Oneself; an administrator anyone; a signatory the users with a role or an application in
    an institution the signatory manages (to manage their roles there)."""
    if not is_authenticated(actor):
        return False
    if is_portal_admin(actor) or getattr(actor, "pk", None) == user.pk:
        return True
    managed = institution_ids_with_role(actor, Role.SIGNATORY)
    if not managed:
        return False
    return (
        user.memberships.filter(institution_id__in=managed).exists()
        or user.applications.filter(institution_id__in=managed).exists()
    )


def can_set_portal_admin(actor: Visitor) -> bool:
    """Only an administrator makes (or unmakes) administrators: no escalation by signatories."""
    return is_portal_admin(actor)


def can_grant_role(actor: Visitor, user: User, institution: Institution) -> bool:
    """Assign or withdraw a role in an institution: its signatory for its own people (users who
    already have a role or an application there), an administrator for anyone."""
    if is_portal_admin(actor):
        return True
    if not can_manage_users_of(actor, institution) or user.is_portal_admin:
        return False
    return (
        user.memberships.filter(institution=institution).exists()
        or user.applications.filter(institution=institution).exists()
    )


def can_decide_application(actor: Visitor, application: Any) -> bool:
    """Approve or reject an application: the signatory of that institution or an administrator."""
    return can_manage_users_of(actor, application.institution_id)


def manageable_users(actor: Visitor) -> QuerySet[User]:
    """Users the actor may see in the user list (see ``can_view_user``)."""
    if is_portal_admin(actor):
        return User.objects.all()
    managed = institution_ids_with_role(actor, Role.SIGNATORY)
    if not managed:
        return User.objects.none()
    return User.objects.filter(
        models.Q(memberships__institution_id__in=managed)
        | models.Q(applications__institution_id__in=managed)
    ).distinct()


# --- user management: two-factor, access reviews, invitations (DU-8) ---------------------------


def requires_two_factor(user: Visitor) -> bool:
    """Two-factor authentication is required for portal administrators and signatory contact
    persons (any membership as signatory, suspended or not); optional for everyone else."""
    pk = getattr(user, "pk", None)
    if pk is None or getattr(user, "is_system", False):
        return False
    if getattr(user, "is_portal_admin", False):
        return True
    return Membership.objects.filter(user_id=pk, role=Role.SIGNATORY).exists()


def can_reset_two_factor(actor: Visitor, user: User) -> bool:
    """Remove a user's authenticator and recovery codes (a lost phone): an administrator for
    anyone, a signatory for the users they manage; never one's own (use the profile page)."""
    if getattr(actor, "pk", None) == user.pk:
        return False
    return can_manage_user(actor, user)


def can_invite(actor: Visitor) -> bool:
    """Has the invitations page: administrators and signatory contact persons."""
    return can_manage_some_users(actor)


def can_invite_to(actor: Visitor, institution: Institution | int) -> bool:
    """Invite a person into an institution: its signatory or an administrator."""
    return can_manage_users_of(actor, institution)


def can_review_access_of(actor: Visitor, institution: Institution | int) -> bool:
    """Confirm, remove, restore the roles of an institution in an access review: its signatory
    or an administrator."""
    return can_manage_users_of(actor, institution)


def can_review_some_access(actor: Visitor) -> bool:
    return can_manage_some_users(actor)


def roles_allowed_for(institution: Institution) -> list[str]:
    """Roles that make sense in an institution of this kind."""
    roles = [Role.SIGNATORY.value]
    if institution.is_provider:
        roles.append(Role.PROVIDER.value)
    if institution.is_recipient:
        roles.append(Role.RECIPIENT.value)
    return roles


# --- datasets ----------------------------------------------------------------------------------


def can_create_dataset_for(actor: Visitor, institution: Institution | int) -> bool:
    if isinstance(institution, int):
        institution = Institution.objects.get(pk=institution)
    if not institution.is_provider:
        return False
    return is_portal_admin(actor) or has_role(actor, institution, Role.PROVIDER)


def can_edit_dataset(actor: Visitor, dataset: Dataset) -> bool:
    """Edit metadata and schema, load data."""
    return is_portal_admin(actor) or has_role(actor, dataset.provider_id, Role.PROVIDER)


def can_manage_metadata_templates(actor: Visitor, institution: Institution | int | None) -> bool:
    """Open data metadata templates: an institution's by its data provider representatives,
    global ones (``institution`` None) by administrators; administrators any."""
    if is_portal_admin(actor):
        return True
    return institution is not None and has_role(actor, institution, Role.PROVIDER)


def can_publish_open_data(actor: Visitor, dataset: Dataset) -> bool:
    """Describe a dataset for the open data portal and publish it there: whoever edits it."""
    return can_edit_dataset(actor, dataset)


PUBLIC_ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"


def can_download_open_data(actor: Visitor, dataset: Dataset) -> bool:
    """The data export of the open data catalogue (``/open-data/download/<code>.csv``): anyone,
    without login, for a dataset in production whose open data description is published with
    public access rights; nobody for any other dataset (its data stays behind the grants).
    Fields marked personal data are never in that export."""
    meta = getattr(dataset, "open_metadata", None)  # none described: no reverse row
    return (
        dataset.status == "production"
        and meta is not None
        and bool(meta.published)
        and meta.access_rights == PUBLIC_ACCESS_RIGHT
    )


def can_change_dataset_status(actor: Visitor, dataset: Dataset, status: str) -> bool:
    """Providers retire their datasets; only an administrator promotes to production."""
    if is_portal_admin(actor):
        return True
    return status != "production" and can_edit_dataset(actor, dataset)


def provider_institutions(actor: Visitor) -> QuerySet[Institution]:
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
    "manage_some_users": can_manage_some_users,
    "view_institution": can_view_institution,
    "view_user": can_view_user,
    "set_portal_admin": can_set_portal_admin,
    "decide_application": can_decide_application,
    "create_dataset_for": can_create_dataset_for,
    "edit_dataset": can_edit_dataset,
    "is_portal_admin": is_portal_admin,
    "invite": can_invite,
    "review_some_access": can_review_some_access,
    "publish_open_data": can_publish_open_data,
}


# --- technical connections (API clients) -------------------------------------------------------


def can_manage_connections_of(actor: Visitor, institution: Institution | int, kind: str) -> bool:
    """Register, rotate and revoke an institution's technical connections of one kind: provider
    systems by its data provider representatives, recipient systems by its data recipient
    representatives; administrators for any, and only they for oversight systems (which may ask
    "who read" across all datasets)."""
    if is_portal_admin(actor):
        return True
    if kind == "oversight":
        return False
    role = Role.PROVIDER if kind == "provider" else Role.RECIPIENT
    return has_role(actor, institution, role)


def connection_visibility(actor: Visitor) -> models.Q | None:
    """A filter over the technical connections the actor may manage (``can_manage_connections_of``
    as a query): provider systems of the institutions where the actor is a data provider
    representative, recipient systems where a data recipient representative (``None``: all,
    for administrators)."""
    if is_portal_admin(actor):
        return None
    provider_ids = institution_ids_with_role(actor, Role.PROVIDER)
    recipient_ids = institution_ids_with_role(actor, Role.RECIPIENT)
    return models.Q(institution_id__in=provider_ids, kind="provider") | models.Q(
        institution_id__in=recipient_ids, kind="recipient"
    )


def connection_kinds(actor: Visitor) -> list[str]:
    """The kinds of technical connection the actor may register for at least one institution
    (``can_manage_connections_of``): provider systems for data provider representatives,
    recipient systems for data recipient representatives, both for administrators."""
    if is_portal_admin(actor):
        return ["provider", "recipient"]
    kinds = []
    if institution_ids_with_role(actor, Role.PROVIDER):
        kinds.append("provider")
    if institution_ids_with_role(actor, Role.RECIPIENT):
        kinds.append("recipient")
    return kinds


def connection_institutions(actor: Visitor) -> QuerySet[Institution]:
    """Institutions whose connections the actor may see and manage (of at least one kind)."""
    if is_portal_admin(actor):
        return Institution.objects.all()
    ids = institution_ids_with_role(actor, Role.PROVIDER, Role.RECIPIENT)
    return Institution.objects.filter(pk__in=ids)


# --- catalogue: dataset status and the portal pages (added by the catalogue capability) --------


def can_define_datasets(actor: Visitor) -> bool:
    """May define a dataset for at least one institution (opens the "new dataset" page)."""
    return is_authenticated(actor) and provider_institutions(actor).exists()


def can_set_dataset_status(actor: Visitor, dataset: Dataset, status: str) -> bool:
    """``can_change_dataset_status``, and reopening a retired dataset (back to sandbox) is for
    administrators only."""
    if dataset.status == "retired" and status == "sandbox" and not is_portal_admin(actor):
        return False
    return can_change_dataset_status(actor, dataset, status)


def can_promote_dataset(actor: Visitor, dataset: Dataset) -> bool:
    return can_set_dataset_status(actor, dataset, "production")


def can_retire_dataset(actor: Visitor, dataset: Dataset) -> bool:
    return can_set_dataset_status(actor, dataset, "retired")


def can_reopen_dataset(actor: Visitor, dataset: Dataset) -> bool:
    return can_set_dataset_status(actor, dataset, "sandbox")


RULES.update(
    {
        "define_datasets": can_define_datasets,
        "promote_dataset": can_promote_dataset,
        "retire_dataset": can_retire_dataset,
        "reopen_dataset": can_reopen_dataset,
    }
)


# --- access grants (added by the grants capability) ---------------------------------------------
# A grant gives a recipient institution access to a dataset. Its recipient's data recipient
# representatives request it (and may withdraw it); the dataset provider's data provider
# representatives or an administrator decide on it. Someone who represents both sides may do both.


def grant_request_institutions(actor: Visitor) -> QuerySet[Institution]:
    """Active recipient institutions on whose behalf the actor may request grants."""
    kinds = [Institution.Kind.RECIPIENT, Institution.Kind.BOTH]
    return Institution.objects.filter(
        kind__in=kinds,
        status=Institution.Status.ACTIVE,
        pk__in=institution_ids_with_role(actor, Role.RECIPIENT),
    )


def can_request_grants(actor: Visitor) -> bool:
    """Opens the "request access" page: a data recipient representative of some institution."""
    return bool(institution_ids_with_role(actor, Role.RECIPIENT))


def can_request_grant_for(actor: Visitor, institution: Institution | int) -> bool:
    if isinstance(institution, int):
        institution = Institution.objects.get(pk=institution)
    if not institution.is_recipient or institution.status != Institution.Status.ACTIVE:
        return False
    return has_role(actor, institution, Role.RECIPIENT)


def can_review_grants(actor: Visitor) -> bool:
    """Has a list of grant requests to decide: administrators and provider representatives."""
    return is_portal_admin(actor) or bool(institution_ids_with_role(actor, Role.PROVIDER))


def can_decide_grant(actor: Visitor, grant: Any) -> bool:
    """Approve (possibly narrowed) or reject a request: the dataset provider's representative or
    an administrator."""
    return is_portal_admin(actor) or has_role(actor, grant.dataset.provider_id, Role.PROVIDER)


def can_revoke_grant(actor: Visitor, grant: Any) -> bool:
    """Revoke a grant: who may decide on it, and the recipient's own representatives (who give
    the access up or withdraw their request). A request not yet decided is withdrawn only by the
    recipient's representatives; the provider side rejects it instead."""
    recipient_side = has_role(actor, grant.recipient_id, Role.RECIPIENT)
    if grant.status == "requested":
        return recipient_side
    return recipient_side or can_decide_grant(actor, grant)


def can_view_grant(actor: Visitor, grant: Any) -> bool:
    return (
        can_decide_grant(actor, grant)
        or has_role(actor, grant.recipient_id, Role.RECIPIENT)
        or has_role(actor, grant.recipient_id, Role.SIGNATORY)
    )


def grant_recipient_institution_ids(actor: Visitor) -> set[int]:
    """The institutions whose own grants the actor follows (the "my institution's grants" list):
    where the actor is a data recipient representative or a signatory."""
    return institution_ids_with_role(actor, Role.RECIPIENT, Role.SIGNATORY)


def grant_review_scope(actor: Visitor) -> models.Q | None:
    """A filter over the grants the actor reviews as the provider side: those for datasets of
    the institutions where the actor is a data provider representative (``None``: all of them,
    for administrators)."""
    if is_portal_admin(actor):
        return None
    return models.Q(dataset__provider_id__in=institution_ids_with_role(actor, Role.PROVIDER))


def grant_visibility(actor: Visitor) -> models.Q | None:
    """A filter over grants the actor may see (``None``: all of them, for administrators)."""
    review = grant_review_scope(actor)
    if review is None:
        return None
    return models.Q(recipient_id__in=grant_recipient_institution_ids(actor)) | review


RULES.update(
    {
        "request_grants": can_request_grants,
        "review_grants": can_review_grants,
        "decide_grant": can_decide_grant,
        "revoke_grant": can_revoke_grant,
        "view_grant": can_view_grant,
    }
)


# --- the data-access audit (added by the audit capability) --------------------------------------


def can_read_dataset_audit(actor: Visitor, dataset: Dataset) -> bool:
    """See who used a dataset (the access audit of one dataset): an administrator, or a data
    provider representative of the dataset's provider."""
    return is_portal_admin(actor) or has_role(actor, dataset.provider_id, Role.PROVIDER)


def can_answer_who_read(actor: Visitor) -> bool:
    """Answer "who read this person's data" across all datasets: administrators in the portal,
    and through the API the oversight systems (connections of kind ``oversight``, which only
    administrators register: ``can_manage_connections_of``)."""
    if is_connection(actor):
        return actor.kind == "oversight"
    return is_portal_admin(actor)


RULES.update(
    {
        "read_dataset_audit": can_read_dataset_audit,
        "answer_who_read": can_answer_who_read,
    }
)


# --- the data viewer (added by the retrieval capability) ----------------------------------------


def granted_data_institution_ids(actor: Visitor) -> set[int]:
    """The institutions whose granted data the actor may view in the data viewer: those where
    the actor is a data recipient representative."""
    return institution_ids_with_role(actor, Role.RECIPIENT)


def can_view_granted_data(actor: Visitor) -> bool:
    """Open the data viewer (DU-10): a data recipient representative of some institution. Which
    records and fields they see is decided by the institution's grants (``dagr.grants``)."""
    return bool(granted_data_institution_ids(actor))


RULES["view_granted_data"] = can_view_granted_data


# --- loading data (added by the provider loading API) -------------------------------------------


def can_load_dataset(actor: Visitor, dataset: Dataset) -> bool:
    """Load or delete records: a person who may edit the dataset, or a provider system (a
    technical connection, ``actor.is_connection``) of the dataset's own institution."""
    if is_connection(actor):
        return actor.kind == "provider" and actor.institution_id == dataset.provider_id
    return can_edit_dataset(actor, dataset)


# --- change monitoring (record sets and their webhooks) -----------------------------------------


def can_manage_record_sets_of(actor: Visitor, institution: Institution | int) -> bool:
    """Record sets and webhooks of an institution: its recipient systems (API,
    ``actor.is_connection``) and its data recipient representatives (portal)."""
    institution_id = institution.pk if isinstance(institution, Institution) else institution
    if is_connection(actor):
        return actor.kind == "recipient" and actor.institution_id == institution_id
    return has_role(actor, institution_id, Role.RECIPIENT)


def record_set_institution_ids(actor: Visitor) -> set[int]:
    """The institutions whose record sets the actor manages (``can_manage_record_sets_of``)."""
    if is_connection(actor):
        return {actor.institution_id} if actor.kind == "recipient" else set()
    return institution_ids_with_role(actor, Role.RECIPIENT)


# --- anonymised test datasets (added by the anonymisation capability) ---------------------------
# Published test data is public (no rule: the pages and the API are ``public``). Preparing it —
# the rules per field, the privacy settings, building a release — is the provider's.


def can_manage_test_data(actor: Visitor, dataset: Dataset) -> bool:
    """Change a dataset's anonymisation settings and see its releases: a data provider
    representative of the dataset's provider, or an administrator."""
    return is_portal_admin(actor) or has_role(actor, dataset.provider_id, Role.PROVIDER)


def test_data_manageable(actor: Visitor, datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    """``datasets`` narrowed to those whose test data the actor manages (the queryset form of
    ``can_manage_test_data``)."""
    if is_portal_admin(actor):
        return datasets
    return datasets.filter(provider_id__in=institution_ids_with_role(actor, Role.PROVIDER))


def can_build_test_release(actor: Visitor, datasets: Any) -> bool:
    """Build one release of several datasets (their joins survive only within one release): the
    actor must manage the test data of EVERY dataset in it — or be an administrator."""
    datasets = list(datasets)
    return bool(datasets) and all(can_manage_test_data(actor, d) for d in datasets)


def can_work_with_test_data(actor: Visitor) -> bool:
    """Has a test data page in the portal at all: administrators and provider representatives."""
    return is_portal_admin(actor) or bool(institution_ids_with_role(actor, Role.PROVIDER))


RULES.update(
    {
        "manage_test_data": can_manage_test_data,
        "build_test_release": can_build_test_release,
        "work_with_test_data": can_work_with_test_data,
    }
)


# --- notifications (DU-9) -------------------------------------------------------------------------


def can_manage_notification_templates(actor: Visitor) -> bool:
    """Edit the notification templates (every user's mail): administrators only."""
    return is_portal_admin(actor)


def can_manage_newsletters(actor: Visitor) -> bool:
    """Write and send newsletters: administrators only."""
    return is_portal_admin(actor)


# --- the dashboard: statistics of use (added by the dashboard capability) ----------------------


def stats_provider_ids(actor: Visitor) -> set[int] | None:
    """The institutions whose datasets' use the actor may see in the statistics (``None``: all,
    for administrators): where a person is a data provider representative, or a provider
    system's own institution."""
    if is_connection(actor):
        return {actor.institution_id} if actor.kind == "provider" else set()
    if is_portal_admin(actor):
        return None
    return institution_ids_with_role(actor, Role.PROVIDER)


def stats_recipient_ids(actor: Visitor) -> set[int] | None:
    """The recipient institutions whose own use the actor may see (``None``: all, for
    administrators): where a person is a data recipient representative or a signatory, or a
    recipient system's own institution."""
    if is_connection(actor):
        return {actor.institution_id} if actor.kind == "recipient" else set()
    if is_portal_admin(actor):
        return None
    return institution_ids_with_role(actor, Role.RECIPIENT, Role.SIGNATORY)


def can_view_statistics(actor: Visitor) -> bool:
    """Open the dashboard (DU-5) or the statistics API: administrators, and anyone who provides
    or receives data (each sees only their own part: ``stats_provider_ids``,
    ``stats_recipient_ids``)."""
    providers, recipients = stats_provider_ids(actor), stats_recipient_ids(actor)
    return providers is None or recipients is None or bool(providers or recipients)


RULES["view_statistics"] = can_view_statistics


def can_read_metrics(client_address: str, bearer_token: str) -> bool:
    """Read the operators' metrics (``/metrics``): a client in ``DAGR_METRICS_NETWORKS``
    (default: loopback only), or anyone with the configured ``DAGR_METRICS_TOKEN``. (No
    person's role: metrics are for monitoring systems, which have no portal account.)"""
    token = settings.DAGR_METRICS_TOKEN
    if token and bearer_token and hmac.compare_digest(token.encode(), bearer_token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(n, strict=False) for n in settings.DAGR_METRICS_NETWORKS
    )


# --- sync to the national open data portal (CKAN) ------------------------------------------------
# The portal settings of an institution (base URL, organisation, API token) are the data provider
# representatives' of that institution, and the administrators'; publishing a dataset there (and
# reading its sync status and log) asks ``can_publish_open_data`` above, as its description does.


def can_manage_open_data_portal(actor: Visitor, institution: Institution | int) -> bool:
    """Change an institution's CKAN settings: its data provider representatives, administrators."""
    return is_portal_admin(actor) or has_role(actor, institution, Role.PROVIDER)


def open_data_portal_institutions(actor: Visitor) -> QuerySet[Institution]:
    """Institutions whose CKAN settings the actor manages (the queryset form of
    ``can_manage_open_data_portal``)."""
    qs = Institution.objects.filter(
        kind__in=[Institution.Kind.PROVIDER, Institution.Kind.BOTH],
        status=Institution.Status.ACTIVE,
    )
    if is_portal_admin(actor):
        return qs
    return qs.filter(pk__in=institution_ids_with_role(actor, Role.PROVIDER))


def can_use_open_data_portal(actor: Visitor) -> bool:
    """Has the open data portal pages at all: administrators and provider representatives."""
    return is_portal_admin(actor) or bool(institution_ids_with_role(actor, Role.PROVIDER))


RULES.update(
    {
        "manage_open_data_portal": can_manage_open_data_portal,
        "use_open_data_portal": can_use_open_data_portal,
    }
)


# --- provider connectors (DU-12) ------------------------------------------------------------------


def can_manage_connectors_of(actor: Visitor, institution: Institution | int) -> bool:
    """Configure, try and run the connectors of an institution's datasets, and read their logs: a
    data provider representative of that institution, or an administrator."""
    institution_id = institution.pk if isinstance(institution, Institution) else institution
    return is_portal_admin(actor) or has_role(actor, institution_id, Role.PROVIDER)


def can_manage_connector(actor: Visitor, connector: Any) -> bool:
    """One connector (``connector.provider_id``): ``can_manage_connectors_of`` its provider."""
    return can_manage_connectors_of(actor, connector.provider_id)


def can_accept_connector_proposal(actor: Visitor, connector: Any) -> bool:
    """Accept a schema change a connector run proposed (new source columns become dataset fields
    and are mapped): manages the connector and may change its dataset's schema."""
    return can_manage_connector(actor, connector) and can_edit_dataset(actor, connector.dataset)


def can_delete_connector(actor: Visitor, connector: Any) -> bool:
    """Delete a connector with its run history: whoever manages it."""
    return can_manage_connector(actor, connector)


def can_work_with_connectors(actor: Visitor) -> bool:
    """Has a connectors page at all: administrators and provider representatives."""
    return is_portal_admin(actor) or bool(institution_ids_with_role(actor, Role.PROVIDER))


def connector_institution_ids(actor: Visitor) -> set[int] | None:
    """The institutions whose connectors the actor sees; ``None``: all (administrators)."""
    if is_portal_admin(actor):
        return None
    return institution_ids_with_role(actor, Role.PROVIDER)


def can_run_connector_remotely(actor: Visitor, connector: Any) -> bool:
    """Report a remote run (the agent at the provider's site): a provider system (technical
    connection of kind ``provider``) of the connector's own institution."""
    return (
        is_connection(actor)
        and actor.kind == "provider"
        and actor.institution_id == connector.provider_id
    )


RULES.update(
    {
        "manage_connector": can_manage_connector,
        "accept_connector_proposal": can_accept_connector_proposal,
        "delete_connector": can_delete_connector,
        "work_with_connectors": can_work_with_connectors,
    }
)


# --- the knowledge base (issue #16) ---------------------------------------------------------------


def can_manage_help_articles(actor: Visitor) -> bool:
    """Write, edit and revert help articles, upload their images and read readers' feedback:
    administrators only (everyone reads public articles; signed-in users also the others)."""
    return is_portal_admin(actor)


RULES["manage_help_articles"] = can_manage_help_articles
