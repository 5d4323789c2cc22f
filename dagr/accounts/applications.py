"""Applications: a person applies for an account and roles at an institution (registration), and
the institution's signatory or an administrator approves or rejects the application.

Like every write of ``accounts`` (``dagr.accounts.services``): permission through
``dagr.permissions.rules``, the change under ``transaction.atomic`` with an administrative audit
entry; the e-mails follow from that entry (``dagr.notifications``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create, diff_fields
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied
from dagr.permissions import rules

from .models import Application, Institution, User
from .services import (
    USER_FIELDS,
    _actor_user,
    _check_password,
    _check_roles,
    _clean_user_fields,
    _email_taken_error,
    _grant,
    _invalid,
    _snapshot,
)


def application_submit(
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str,
    position: str,
    password: str,
    institution: Institution,
    roles: Sequence[str],
    message: str = "",
) -> Application:
    """A person applies for an account with ``roles`` in ``institution``: a pending user is
    created (or, for a pending applicant whose earlier application was decided, updated) and the
    institution's signatories (or, when it has none, the administrators) are told."""
    if institution.status != Institution.Status.ACTIVE:
        raise _invalid(
            "institution", _("This institution does not accept applications."), code="inactive"
        )
    if not roles:
        raise _invalid("roles", _("Choose at least one role."), code="roles_required")
    checked_roles = _check_roles(institution, roles)
    fields = _clean_user_fields(
        {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            "position": position,
        }
    )
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=fields["email"]).first()
        if user is not None and not (
            user.status == User.Status.PENDING
            and not user.memberships.exists()
            and not user.applications.filter(status=Application.Status.PENDING).exists()
        ):
            raise _invalid(
                "email",
                _(
                    "An account with this e-mail address already exists. Log in, or reset the "
                    "password if you have forgotten it."
                ),
                code="duplicate_email",
            )
        created = user is None
        if user is None:
            user = User(status=User.Status.PENDING, **fields)
        else:
            for key, value in fields.items():
                setattr(user, key, value)
        _check_password(password, user)
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            raise _email_taken_error() from exc
        if created:
            admin_entry_create(
                action="accounts.user.created",
                actor=user,
                target=user,
                institution_id=institution.pk,
                changes=diff_fields({}, _snapshot(user, (*USER_FIELDS, "status"))),
            )
        application = Application.objects.create(
            user=user, institution=institution, roles=checked_roles, message=message.strip()
        )
        admin_entry_create(
            action="accounts.application.submitted",
            actor=user,
            target=application,
            institution_id=institution.pk,
            changes={"roles": [None, checked_roles], "institution": [None, institution.name]},
        )
    return application


def _decide(*, actor: Actor, application: Application, status: str, note: str) -> Application:
    locked = (
        Application.objects.select_for_update()
        .select_related("user", "institution")
        .filter(pk=application.pk)
        .first()
    )
    if locked is None:
        raise NotFound
    application = locked
    if not rules.can_decide_application(actor, application):
        raise NotFound if not rules.can_view_user(actor, application.user) else PermissionDenied
    if application.status != Application.Status.PENDING:
        raise Conflict(_("This application has already been decided."), code="already_decided")
    application.status = status
    application.decided_by = _actor_user(actor)
    application.decided_at = timezone.now()
    application.decision_note = (note or "").strip()
    application.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return application


def application_approve(
    *,
    actor: Actor,
    application: Application,
    roles: Sequence[str] | None = None,
    note: str = "",
) -> Application:
    """Approve: the applicant becomes active and gets ``roles`` (by default the requested ones)."""
    with transaction.atomic():
        application = _decide(
            actor=actor, application=application, status=Application.Status.APPROVED, note=note
        )
        granted = _check_roles(
            application.institution, application.roles if roles is None else roles
        )
        if not granted:
            raise _invalid("roles", _("Choose at least one role."), code="roles_required")
        admin_entry_create(
            action="accounts.application.approved",
            actor=actor,
            target=application,
            institution_id=application.institution_id,
            changes={
                "status": [Application.Status.PENDING, Application.Status.APPROVED],
                "roles": [application.roles, granted],
                **(
                    {"note": [None, application.decision_note]} if application.decision_note else {}
                ),
            },
        )
        user = application.user
        if user.status == User.Status.PENDING:
            user.status = User.Status.ACTIVE
            user.save(update_fields=["status", "updated_at"])
            admin_entry_create(
                action="accounts.user.activated",
                actor=actor,
                target=user,
                institution_id=application.institution_id,
                changes={"status": [User.Status.PENDING, User.Status.ACTIVE]},
            )
        for role in granted:
            _grant(actor=actor, user=user, institution=application.institution, role=role)
    return application


def application_reject(*, actor: Actor, application: Application, note: str = "") -> Application:
    with transaction.atomic():
        application = _decide(
            actor=actor, application=application, status=Application.Status.REJECTED, note=note
        )
        admin_entry_create(
            action="accounts.application.rejected",
            actor=actor,
            target=application,
            institution_id=application.institution_id,
            changes={
                "status": [Application.Status.PENDING, Application.Status.REJECTED],
                **(
                    {"note": [None, application.decision_note]} if application.decision_note else {}
                ),
            },
        )
    return application
