"""Institutions, people, their roles and their applications.

Roles: ``User.is_portal_admin`` is the one global role; every other role is a ``Membership`` of a
user in an institution (signatory contact person, data provider representative, data recipient
representative). Technical connections (API clients) of an institution will live here too.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from dagr.core.identifiers import compact, is_valid_company_code
from dagr.core.models import TimeStampedModel


def validate_registration_number(value: str) -> None:
    if not is_valid_company_code(value):
        raise ValidationError(
            _("%(value)s is not a valid Latvian registration number (11 digits, checksum)."),
            code="invalid_registration_number",
            params={"value": value},
        )


class Institution(TimeStampedModel):
    class Kind(models.TextChoices):
        PROVIDER = "provider", _("data provider")
        RECIPIENT = "recipient", _("data recipient")
        BOTH = "both", _("data provider and recipient")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        INACTIVE = "inactive", _("inactive")

    name = models.CharField(_("name"), max_length=255)
    short_name = models.CharField(_("short name"), max_length=50, blank=True)
    registration_number = models.CharField(
        _("registration number"),
        max_length=11,
        unique=True,
        validators=[validate_registration_number],
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    website = models.URLField(_("website"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return self.name

    @property
    def is_provider(self) -> bool:
        return self.kind in (self.Kind.PROVIDER, self.Kind.BOTH)

    @property
    def is_recipient(self) -> bool:
        return self.kind in (self.Kind.RECIPIENT, self.Kind.BOTH)

    def clean(self) -> None:
        self.registration_number = compact(self.registration_number)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_portal_admin", True)
        fields.setdefault("status", User.Status.ACTIVE)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending approval")
        ACTIVE = "active", _("active")
        BLOCKED = "blocked", _("blocked")

    email = models.EmailField(_("e-mail"), unique=True)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, blank=True)  # E.164
    position = models.CharField(_("position"), max_length=150, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    is_portal_admin = models.BooleanField(_("portal administrator"), default=False)
    language = models.CharField(_("language"), max_length=5, default="lv")
    # National login (OpenID Connect) finds a person by personal code: only a keyed hash of it
    # is stored (``dagr.accounts.identity.personal_code_hash``), never the code itself.
    personal_code_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # When the "you will be deactivated for inactivity" notice went out (cleared on login).
    inactivity_notice_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_active(self) -> bool:  # type: ignore[override]  # a property over the base class attribute
        """Only active users may log in; pending and blocked users may not."""
        return self.status == self.Status.ACTIVE

    # Django's admin/staff flags are not used: the portal has its own role model.
    is_staff = False
    is_superuser = False


class Membership(models.Model):
    """A role of a user in an institution."""

    class Role(models.TextChoices):
        SIGNATORY = "signatory", _("signatory contact person")
        PROVIDER = "provider", _("data provider representative")
        RECIPIENT = "recipient", _("data recipient representative")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="memberships"
    )

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")

    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # A suspended role (not confirmed in an access review in time) gives no rights:
    # ``permissions.rules`` reads active memberships only. The signatory can restore it.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    confirmed_at = models.DateTimeField(_("last confirmed"), null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "institution", "role"], name="membership_unique_role"
            )
        ]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.institution}"


class Application(models.Model):
    """A person's application to become a user of an institution with some roles."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="applications")
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="applications"
    )
    roles = models.JSONField(_("requested roles"), default=list)
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")

    def __str__(self) -> str:
        return f"{self.user} → {self.institution}"

    @property
    def role_labels(self) -> list[str]:
        """Names of the requested roles in the active language."""
        labels = dict(Membership.Role.choices)
        return [str(labels.get(role, role)) for role in self.roles]


class TwoFactorDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238): the shared secret, encrypted at rest
    (``dagr.core.crypto``). ``confirmed_at`` is set once the user has entered a first valid code;
    only a confirmed device is asked for at login. ``last_step`` refuses a code used twice."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("two-factor authenticator")

    def __str__(self) -> str:
        return f"TOTP — {self.user_id}"


class RecoveryCode(models.Model):
    """A one-time recovery code (hashed; the user saw it once, at enrolment)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"recovery code — {self.user_id}"


class Invitation(models.Model):
    """A person invited by e-mail to become a user of an institution with preset roles. The
    link carries a signed token naming the invitation and its ``nonce``: a resend changes the
    nonce (the old link dies), acceptance and revocation end it, and it expires."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        REVOKED = "revoked", _("revoked")
        EXPIRED = "expired", _("expired")

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("e-mail"))
    roles = models.JSONField(_("roles"), default=list)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    nonce = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.institution}"

    def status_at(self, now: Any) -> str:
        if self.accepted_at:
            return self.Status.ACCEPTED
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def role_labels(self) -> list[str]:
        labels = dict(Membership.Role.choices)
        return [str(labels.get(role, role)) for role in self.roles]


class AccessReview(models.Model):
    """One periodic access review of an institution: its signatories confirm each role; roles
    not confirmed since ``opened_at`` are suspended once ``due_at`` has passed."""

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="access_reviews"
    )
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("access review")

    def __str__(self) -> str:
        return f"{self.institution_id} — {self.opened_at:%Y-%m-%d}"


def acting_user(actor: object) -> User | None:
    """The portal user who acts, for a "by" column; ``None`` for the system and a connection."""
    return actor if isinstance(actor, User) and actor.pk else None
