"""Invitations: a signatory (or an administrator) invites a person by e-mail with roles preset;
the person opens the link, sets name and password and becomes an active user with those roles.

The link carries ``django.core.signing`` of the invitation id and its random ``nonce`` (salted,
timestamped): it cannot be forged, a resend changes the nonce so an older link stops working, and
acceptance, revocation and ``expires_at`` (``DAGR_INVITATION_DAYS``, default 7) end it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create, diff_fields
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied
from dagr.permissions import rules

from . import emails
from .models import Institution, Invitation, User
from .services import (
    USER_FIELDS,
    _actor_user,
    _check_password,
    _check_roles,
    _clean_user_fields,
    _email_taken_error,
    _grant,
    _invalid,
    _normalize_email,
    _snapshot,
)

SALT = "dagr.accounts.invitation"


class InvitationUnusable(Conflict):
    """The link is expired, used, revoked or not valid; ``reason`` says which."""

    code = "invitation_unusable"

    def __init__(self, reason: str) -> None:
        super().__init__(code=self.code)
        self.reason = reason


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    from django.urls import reverse

    return emails.absolute_url(
        reverse("accounts:invitation_accept", args=[invitation_token(invitation)])
    )


def _validity() -> timedelta:
    return timedelta(days=settings.DAGR_INVITATION_DAYS)


def invitation_create(
    *, actor: Actor, institution: Institution, email: str, roles: Sequence[str]
) -> Invitation:
    if not rules.can_invite_to(actor, institution):
        raise PermissionDenied
    address = _normalize_email(email)
    if not roles:
        raise _invalid("roles", _("Choose at least one role."), code="roles_required")
    checked = _check_roles(institution, roles)
    now = timezone.now()
    with transaction.atomic():
        if User.objects.filter(email__iexact=address).exists():
            raise _invalid(
                "email",
                _(
                    "A user with this e-mail address already exists: give them the role on "
                    "their user page instead."
                ),
                code="duplicate_email",
            )
        if Invitation.objects.filter(
            email__iexact=address,
            institution=institution,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).exists():
            raise _invalid(
                "email",
                _("This person already has a pending invitation: resend it instead."),
                code="duplicate_invitation",
            )
        invitation = Invitation.objects.create(
            institution=institution,
            email=address,
            roles=checked,
            invited_by=_actor_user(actor),
            nonce=secrets.token_urlsafe(16),
            sent_at=now,
            expires_at=now + _validity(),
        )
        admin_entry_create(
            action="accounts.invitation.created",
            actor=actor,
            target=invitation,
            target_label=address,
            institution_id=institution.pk,
            changes={
                "email": [None, address],
                "roles": [None, checked],
                "expires_at": [None, invitation.expires_at.isoformat()],
            },
        )
        invitation_id = invitation.pk
        transaction.on_commit(lambda: emails.send_invitation(invitation_id=invitation_id))
    return invitation


def _get_managed(actor: Actor, pk: int) -> Invitation:
    invitation = Invitation.objects.select_related("institution").filter(pk=pk).first()
    if invitation is None or not rules.can_invite_to(actor, invitation.institution_id):
        raise NotFound
    return invitation


def invitation_resend(*, actor: Actor, pk: int) -> Invitation:
    """A new link (the old one stops working) valid for a full period again."""
    invitation = _get_managed(actor, pk)
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at or invitation.revoked_at:
            raise Conflict(_("This invitation is no longer open."), code="invitation_closed")
        old_expiry = invitation.expires_at
        invitation.nonce = secrets.token_urlsafe(16)
        invitation.sent_at = now
        invitation.expires_at = now + _validity()
        invitation.save(update_fields=["nonce", "sent_at", "expires_at"])
        admin_entry_create(
            action="accounts.invitation.resent",
            actor=actor,
            target=invitation,
            target_label=invitation.email,
            institution_id=invitation.institution_id,
            changes={"expires_at": [old_expiry.isoformat(), invitation.expires_at.isoformat()]},
        )
        invitation_id = invitation.pk
        transaction.on_commit(lambda: emails.send_invitation(invitation_id=invitation_id))
    return invitation


def invitation_revoke(*, actor: Actor, pk: int) -> Invitation:
    invitation = _get_managed(actor, pk)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at or invitation.revoked_at:
            raise Conflict(_("This invitation is no longer open."), code="invitation_closed")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        admin_entry_create(
            action="accounts.invitation.revoked",
            actor=actor,
            target=invitation,
            target_label=invitation.email,
            institution_id=invitation.institution_id,
            changes={"status": [Invitation.Status.PENDING, Invitation.Status.REVOKED]},
        )
    return invitation


def invitation_from_token(token: str, *, for_update: bool = False) -> Invitation:
    """The open invitation of a link, or ``InvitationUnusable`` with the reason."""
    try:
        data = signing.loads(token, salt=SALT)
        pk, nonce = int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvitationUnusable("invalid") from exc
    qs = Invitation.objects.select_related("institution")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    invitation = qs.filter(pk=pk).first()
    if invitation is None:
        raise InvitationUnusable("invalid")
    if invitation.accepted_at:
        raise InvitationUnusable("used")
    if invitation.revoked_at:
        raise InvitationUnusable("revoked")
    if not secrets.compare_digest(invitation.nonce, nonce):
        raise InvitationUnusable("replaced")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable("expired")
    return invitation


def invitation_accept(
    *, token: str, first_name: str, last_name: str, password: str, phone: str = "",
    position: str = "",
) -> User:  # fmt: skip
    """The invited person becomes an active user with the preset roles (in one transaction:
    the invitation is used exactly once)."""
    fields = _clean_user_fields(
        {"first_name": first_name, "last_name": last_name, "phone": phone, "position": position}
    )
    with transaction.atomic():
        invitation = invitation_from_token(token, for_update=True)
        if invitation.institution.status != Institution.Status.ACTIVE:
            raise InvitationUnusable("revoked")
        user = User(email=invitation.email, status=User.Status.ACTIVE, **fields)
        _check_password(password, user)
        user.set_password(password)
        if User.objects.filter(email__iexact=user.email).exists():
            raise _email_taken_error()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            raise _email_taken_error() from exc
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
        admin_entry_create(
            action="accounts.user.created",
            actor=user,
            target=user,
            institution_id=invitation.institution_id,
            changes=diff_fields({}, _snapshot(user, (*USER_FIELDS, "status"))),
        )
        admin_entry_create(
            action="accounts.invitation.accepted",
            actor=user,
            target=invitation,
            target_label=invitation.email,
            institution_id=invitation.institution_id,
            changes={"status": [Invitation.Status.PENDING, Invitation.Status.ACCEPTED]},
        )
        for role in _check_roles(invitation.institution, invitation.roles):
            _grant(
                actor=invitation.invited_by or user,
                user=user,
                institution=invitation.institution,
                role=role,
            )
    return user
