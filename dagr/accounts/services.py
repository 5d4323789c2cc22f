"""Writes for institutions, users and roles (applications: ``dagr.accounts.applications``).

Every function checks permission through ``dagr.permissions.rules`` (``dagr.core.actors.SYSTEM``
passes as an administrator), changes the data under ``transaction.atomic``, writes an
administrative audit entry in the same transaction and sends e-mails only after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from dagr.audit.services import admin_entry_create, diff_fields
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dagr.core.identifiers import compact
from dagr.core.ratelimit import rate_limit_hit
from dagr.permissions import rules

from . import emails
from .models import Institution, Membership, User, validate_registration_number

INSTITUTION_FIELDS = (
    "name",
    "short_name",
    "registration_number",
    "kind",
    "status",
    "email",
    "phone",
    "address",
    "website",
)
USER_FIELDS = ("email", "first_name", "last_name", "phone", "position", "language")
SELF_EDITABLE_USER_FIELDS = frozenset({"first_name", "last_name", "phone", "position", "language"})
LANGUAGES = ("lv", "en")


# --- validation helpers ------------------------------------------------------------------------


def _invalid(field: str, message: Any, *, code: str) -> ValidationError:
    return ValidationError(message, code=code, errors=[{"location": field, "message": message}])


def normalize_phone(value: str, *, field: str = "phone") -> str:
    """A phone number in E.164 (``+37120000000``); Latvian numbers may omit ``+371``."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "LV")
    except phonenumbers.NumberParseException as exc:
        raise _invalid(
            field, _("Enter a valid phone number, e.g. +371 20000000."), code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise _invalid(
            field, _("Enter a valid phone number, e.g. +371 20000000."), code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_registration_number(value: str) -> str:
    number = compact(value or "")
    try:
        validate_registration_number(number)
    except DjangoValidationError as exc:
        raise _invalid(
            "registration_number",
            _("Enter a valid Latvian registration number (11 digits with a correct checksum)."),
            code="invalid_registration_number",
        ) from exc
    return number


def _normalize_email(value: str) -> str:
    from django.core.validators import validate_email

    email = (value or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise _invalid("email", _("Enter a valid e-mail address."), code="invalid_email") from exc
    return email


def _required(field: str, value: Any) -> str:
    text = (value or "").strip() if isinstance(value, str) else value
    if not text:
        raise _invalid(field, _("This field is required."), code="required")
    return text


def _check_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError(
            _("The password is too weak."),
            code="weak_password",
            errors=[{"location": "password", "message": m} for m in exc.messages],
        ) from exc


def _check_roles(institution: Institution, roles: Iterable[str]) -> list[str]:
    allowed = rules.roles_allowed_for(institution)
    checked: list[str] = []
    for role in roles:
        if role not in Membership.Role.values:
            raise _invalid("roles", _("Unknown role."), code="invalid_role")
        if role not in allowed:
            raise _invalid(
                "roles",
                _("This role does not fit the kind of the institution."),
                code="role_not_allowed",
            )
        if role not in checked:
            checked.append(role)
    return checked


def _snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def _actor_user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _other_active_admins(user: User) -> bool:
    return (
        User.objects.filter(is_portal_admin=True, status=User.Status.ACTIVE)
        .exclude(pk=user.pk)
        .exists()
    )


# --- institutions ------------------------------------------------------------------------------


def _clean_institution_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    if "name" in cleaned:
        cleaned["name"] = _required("name", cleaned["name"])
    if "registration_number" in cleaned:
        cleaned["registration_number"] = normalize_registration_number(
            cleaned["registration_number"]
        )
    if "kind" in cleaned and cleaned["kind"] not in Institution.Kind.values:
        raise _invalid("kind", _("Choose a valid kind."), code="invalid_kind")
    if "status" in cleaned and cleaned["status"] not in Institution.Status.values:
        raise _invalid("status", _("Choose a valid status."), code="invalid_status")
    if cleaned.get("email"):
        cleaned["email"] = _normalize_email(cleaned["email"])
    if "phone" in cleaned:
        cleaned["phone"] = normalize_phone(cleaned["phone"])
    for key in ("short_name", "address", "website"):
        if key in cleaned:
            cleaned[key] = (cleaned[key] or "").strip()
    if cleaned.get("website"):
        from django.core.validators import URLValidator

        try:
            URLValidator(schemes=["http", "https"])(cleaned["website"])
        except DjangoValidationError as exc:
            raise _invalid(
                "website", _("Enter a valid web address."), code="invalid_website"
            ) from exc
    return cleaned


def _registration_number_taken(number: str, *, exclude: int | None = None) -> bool:
    qs = Institution.objects.filter(registration_number=number)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def institution_create(
    *,
    actor: Actor,
    name: str,
    registration_number: str,
    kind: str,
    short_name: str = "",
    email: str = "",
    phone: str = "",
    address: str = "",
    website: str = "",
) -> Institution:
    if not rules.can_manage_institutions(actor):
        raise PermissionDenied
    fields = _clean_institution_fields(
        {
            "name": name,
            "registration_number": registration_number,
            "kind": kind,
            "short_name": short_name,
            "email": email,
            "phone": phone,
            "address": address,
            "website": website,
        }
    )
    with transaction.atomic():
        if _registration_number_taken(fields["registration_number"]):
            raise _invalid(
                "registration_number",
                _("An institution with this registration number already exists."),
                code="duplicate_registration_number",
            )
        institution = Institution.objects.create(**fields)
        admin_entry_create(
            action="accounts.institution.created",
            actor=actor,
            target=institution,
            institution_id=institution.pk,
            changes=diff_fields({}, _snapshot(institution, INSTITUTION_FIELDS)),
        )
    return institution


def institution_update(*, actor: Actor, institution: Institution, **fields: Any) -> Institution:
    if not rules.can_manage_institutions(actor):
        raise PermissionDenied
    unknown = set(fields) - set(INSTITUTION_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))},
            code="unknown_fields",
        )
    cleaned = _clean_institution_fields(fields)
    with transaction.atomic():
        institution = Institution.objects.select_for_update().get(pk=institution.pk)
        before = _snapshot(institution, INSTITUTION_FIELDS)
        if "registration_number" in cleaned and _registration_number_taken(
            cleaned["registration_number"], exclude=institution.pk
        ):
            raise _invalid(
                "registration_number",
                _("An institution with this registration number already exists."),
                code="duplicate_registration_number",
            )
        for key, value in cleaned.items():
            setattr(institution, key, value)
        changes = diff_fields(before, _snapshot(institution, INSTITUTION_FIELDS))
        if not changes:
            return institution
        institution.save(update_fields=[*changes, "updated_at"])
        admin_entry_create(
            action="accounts.institution.updated",
            actor=actor,
            target=institution,
            institution_id=institution.pk,
            changes=changes,
        )
    return institution


# --- users -------------------------------------------------------------------------------------


def _clean_user_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    for key in ("first_name", "last_name"):
        if key in cleaned:
            cleaned[key] = _required(key, cleaned[key])
    if "email" in cleaned:
        cleaned["email"] = _normalize_email(cleaned["email"])
    if "phone" in cleaned:
        cleaned["phone"] = normalize_phone(cleaned["phone"])
    if "position" in cleaned:
        cleaned["position"] = (cleaned["position"] or "").strip()
    if "language" in cleaned and cleaned["language"] not in LANGUAGES:
        raise _invalid("language", _("Choose a valid language."), code="invalid_language")
    return cleaned


def _email_taken(email: str, *, exclude: int | None = None) -> bool:
    qs = User.objects.filter(email__iexact=email)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _email_taken_error() -> ValidationError:
    return _invalid(
        "email", _("A user with this e-mail address already exists."), code="duplicate_email"
    )


def _grant(*, actor: Actor, user: User, institution: Institution, role: str) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, institution=institution, role=role
    )
    if created:
        admin_entry_create(
            action="accounts.membership.granted",
            actor=actor,
            target=user,
            institution_id=institution.pk,
            changes={"role": [None, role], "institution": [None, institution.name]},
        )
        rules.forget_cached_roles(user)
    return membership


def user_create(
    *,
    actor: Actor,
    email: str,
    first_name: str,
    last_name: str,
    phone: str = "",
    position: str = "",
    password: str | None = None,
    status: str = User.Status.ACTIVE,
    is_portal_admin: bool = False,
    institution: Institution | None = None,
    roles: Sequence[str] = (),
) -> User:
    if is_portal_admin and not rules.can_set_portal_admin(actor):
        raise PermissionDenied
    if institution is None:
        if not rules.is_portal_admin(actor):
            raise PermissionDenied
        if roles:
            raise _invalid("roles", _("Roles need an institution."), code="roles_need_institution")
    elif not rules.can_manage_users_of(actor, institution):
        raise PermissionDenied
    if status not in User.Status.values:
        raise _invalid("status", _("Choose a valid status."), code="invalid_status")
    fields = _clean_user_fields(
        {
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            "position": position,
        }
    )
    checked_roles = _check_roles(institution, roles) if institution is not None else []
    user = User(status=status, is_portal_admin=is_portal_admin, **fields)
    if password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        if _email_taken(user.email):
            raise _email_taken_error()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:  # a concurrent registration with the same address
            raise _email_taken_error() from exc
        admin_entry_create(
            action="accounts.user.created",
            actor=actor,
            target=user,
            institution_id=institution.pk if institution else None,
            changes=diff_fields({}, _snapshot(user, (*USER_FIELDS, "status", "is_portal_admin"))),
        )
        for role in checked_roles:
            assert institution is not None
            _grant(actor=actor, user=user, institution=institution, role=role)
        if not password:
            user_id = user.pk
            transaction.on_commit(lambda: emails.send_account_created(user_id=user_id))
    return user


def user_update(*, actor: Actor, user: User, **fields: Any) -> User:
    """Personal data (``USER_FIELDS``) and, for administrators, ``is_portal_admin``. A user may
    change their own name, phone, position and language."""
    allowed = {*USER_FIELDS, "is_portal_admin"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))},
            code="unknown_fields",
        )
    is_self = getattr(actor, "pk", None) is not None and actor.pk == user.pk
    if not (is_self and set(fields) <= SELF_EDITABLE_USER_FIELDS) and not rules.can_manage_user(
        actor, user
    ):
        raise PermissionDenied
    if "is_portal_admin" in fields and not rules.can_set_portal_admin(actor):
        raise PermissionDenied
    cleaned = _clean_user_fields(fields)
    tracked = (*USER_FIELDS, "is_portal_admin")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = _snapshot(user, tracked)
        if "email" in cleaned and _email_taken(cleaned["email"], exclude=user.pk):
            raise _email_taken_error()
        if (
            "is_portal_admin" in cleaned
            and user.is_portal_admin
            and not cleaned["is_portal_admin"]
            and not _other_active_admins(user)
        ):
            raise Conflict(_("This is the last active portal administrator."), code="last_admin")
        for key, value in cleaned.items():
            setattr(user, key, bool(value) if key == "is_portal_admin" else value)
        changes = diff_fields(before, _snapshot(user, tracked))
        if not changes:
            return user
        user.save(update_fields=[*changes, "updated_at"])
        admin_entry_create(
            action="accounts.user.updated", actor=actor, target=user, changes=changes
        )
    return user


_STATUS_ACTIONS: dict[str, str] = {
    User.Status.ACTIVE: "accounts.user.activated",
    User.Status.BLOCKED: "accounts.user.blocked",
    User.Status.PENDING: "accounts.user.pending",
}


def user_set_status(*, actor: Actor, user: User, status: str, reason: str = "") -> User:
    if not rules.can_manage_user(actor, user):
        raise PermissionDenied
    if status not in (User.Status.ACTIVE, User.Status.BLOCKED):
        raise _invalid("status", _("Choose a valid status."), code="invalid_status")
    if status == User.Status.BLOCKED and getattr(actor, "pk", None) == user.pk:
        raise Conflict(_("You cannot block your own account."), code="cannot_block_self")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.status == status:
            return user
        if (
            status == User.Status.BLOCKED
            and user.is_portal_admin
            and user.status == User.Status.ACTIVE
            and not _other_active_admins(user)
        ):
            raise Conflict(_("This is the last active portal administrator."), code="last_admin")
        old = user.status
        action = _STATUS_ACTIONS[status]
        if old == User.Status.BLOCKED and status == User.Status.ACTIVE:
            action = "accounts.user.unblocked"
        user.status = status
        user.save(update_fields=["status", "updated_at"])
        changes: dict[str, Any] = {"status": [old, status]}
        if reason:
            changes["reason"] = reason.strip()
        admin_entry_create(action=action, actor=actor, target=user, changes=changes)
        if status == User.Status.BLOCKED:
            # Blocking ends every open session of the user at once (and with them the
            # session-authenticated API use); a blocked user cannot log in again.
            from .lifecycle import sessions_end

            user_id = user.pk
            transaction.on_commit(lambda: sessions_end(user_id=user_id))
    return user


def user_change_password(*, actor: Actor, user: User, old_password: str, new_password: str) -> User:
    """A user changes their own password (the old one is required)."""
    if getattr(actor, "pk", None) != user.pk:
        raise PermissionDenied
    if not user.check_password(old_password):
        raise _invalid(
            "old_password", _("The current password is not correct."), code="wrong_password"
        )
    _check_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        admin_entry_create(
            action="accounts.user.password_changed",
            actor=actor,
            target=user,
            changes=diff_fields(
                {"password": 1}, {"password": 2}, secret_fields=frozenset({"password"})
            ),
        )
    return user


def user_password_was_reset(*, user: User) -> None:
    """Record a password set through an e-mailed link (reset or first set-up)."""
    admin_entry_create(
        action="accounts.user.password_reset",
        actor=user,
        target=user,
        changes=diff_fields(
            {"password": 1}, {"password": 2}, secret_fields=frozenset({"password"})
        ),
    )


def user_set_personal_code(*, actor: Actor, user: User, personal_code: str) -> User:
    """Link a user to their personal code for the national login: only its keyed hash is
    stored (``oidc.personal_code_hash``); the audit records that it changed, not the code."""
    from .oidc import personal_code_hash, valid_personal_code

    if not rules.can_manage_user(actor, user):
        raise PermissionDenied
    if not valid_personal_code(personal_code):
        raise _invalid(
            "personal_code", _("Enter a valid Latvian personal code."), code="invalid_personal_code"
        )
    digest = personal_code_hash(personal_code)
    with transaction.atomic():
        if User.objects.filter(personal_code_hash=digest).exclude(pk=user.pk).exists():
            raise _invalid(
                "personal_code",
                _("Another user already has this personal code."),
                code="duplicate_personal_code",
            )
        had = user.personal_code_hash is not None
        User.objects.filter(pk=user.pk).update(personal_code_hash=digest)
        user.personal_code_hash = digest
        admin_entry_create(
            action="accounts.user.personal_code_set",
            actor=actor,
            target=user,
            changes=diff_fields(
                {"personal_code": 1 if had else None},
                {"personal_code": 2},
                secret_fields=frozenset({"personal_code"}),
            ),
        )
    return user


# --- roles -------------------------------------------------------------------------------------


def membership_grant(
    *, actor: Actor, user: User, institution: Institution, role: str
) -> Membership:
    """Give ``user`` a role in ``institution``; granting a role the user has is a no-op."""
    if not rules.can_grant_role(actor, user, institution):
        raise PermissionDenied
    (role,) = _check_roles(institution, [role])
    with transaction.atomic():
        return _grant(actor=actor, user=user, institution=institution, role=role)


def membership_revoke(*, actor: Actor, user: User, institution: Institution, role: str) -> None:
    if not rules.can_grant_role(actor, user, institution):
        raise PermissionDenied
    with transaction.atomic():
        deleted, _rows = Membership.objects.filter(
            user=user, institution=institution, role=role
        ).delete()
        if not deleted:
            raise NotFound(_("The user does not have this role."), code="role_not_found")
        admin_entry_create(
            action="accounts.membership.revoked",
            actor=actor,
            target=user,
            institution_id=institution.pk,
            changes={"role": [role, None], "institution": [institution.name, None]},
        )
        rules.forget_cached_roles(user)


def password_reset_mail_allowed(*, email: str, client_ip: str) -> bool:
    """Counts one password-reset request (whether or not the address has an account, so the
    answer reveals nothing) and says whether its e-mail may go out: at most
    ``PASSWORD_RESET_MAILS_PER_ADDRESS`` per address and ``PASSWORD_RESET_MAILS_PER_IP`` per
    client address within ``PASSWORD_RESET_WINDOW_S``."""
    window = settings.PASSWORD_RESET_WINDOW_S
    per_address = rate_limit_hit(
        scope="accounts.password_reset.email", value=email.strip().lower(), window_s=window
    )
    per_ip = rate_limit_hit(scope="accounts.password_reset.ip", value=client_ip, window_s=window)
    return (
        per_address <= settings.PASSWORD_RESET_MAILS_PER_ADDRESS
        and per_ip <= settings.PASSWORD_RESET_MAILS_PER_IP
    )
