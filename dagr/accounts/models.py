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
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
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


def acting_user(actor: object) -> User | None:
    """The portal user who acts, for a "by" column; ``None`` for the system and a connection."""
    return actor if isinstance(actor, User) and actor.pk else None
