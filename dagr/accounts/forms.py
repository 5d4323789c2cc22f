"""Portal forms. They parse input; the services validate it against the rules and do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from dagr.audit.actions import action_label, action_prefix_label, target_type_label
from dagr.core.errors import DomainError

from .models import Application, Institution, Membership, User


def add_domain_errors(form: forms.Form, exc: DomainError) -> None:
    """Show a service's error on the form: per field where it names one the form has."""
    placed = False
    for error in exc.errors:
        field = error.get("location")
        if field == "password" and "password1" in form.fields:
            field = "password1"
        if field in form.fields:
            form.add_error(field, str(error.get("message", "")))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


ROLE_CHOICES = Membership.Role.choices
LANGUAGE_CHOICES = [("lv", "Latviešu"), ("en", "English")]


class LoginForm(auth_forms.AuthenticationForm):
    """E-mail and password. A person whose password is right but whose account is pending or
    blocked is told so (the failed attempt still counts for throttling)."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("The e-mail address or the password is not correct."),
        "pending": _(
            "Your account is waiting for approval. You will receive an e-mail when it is decided."
        ),
        "blocked": _("Your account is blocked. Contact your institution's signatory person."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("E-mail")
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autocomplete": "username", "autofocus": True}
        )

    def clean_username(self) -> str:
        """E-mail addresses are stored in lower case; throttling counts them that way too (so
        changing the case does not reset the failure count)."""
        return (self.cleaned_data.get("username") or "").strip().lower()

    def get_invalid_login_error(self) -> forms.ValidationError:
        email = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password") or ""
        user = User.objects.filter(email__iexact=email).first()
        if user is not None and not user.is_active and user.check_password(password):
            key = "blocked" if user.status == User.Status.BLOCKED else "pending"
            return forms.ValidationError(self.error_messages[key], code=key)
        return super().get_invalid_login_error()


class PasswordResetForm(auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def get_users(self, email: str) -> Any:
        """Active users (``User.is_active`` is a property over ``status``), also those who have
        not set a password yet (an account created without one)."""
        return User.objects.filter(email__iexact=email, status=User.Status.ACTIVE)


class SetPasswordForm(auth_forms.SetPasswordForm):
    pass


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common or entirely numeric password."),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("new_password1")
            and data.get("new_password2")
            and data["new_password1"] != data["new_password2"]
        ):
            self.add_error("new_password2", _("The two passwords do not match."))
        return data


class PersonForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("For example +371 20000000."),
    )
    position = forms.CharField(label=_("Position"), max_length=150, required=False)


class ProfileForm(PersonForm):
    language = forms.ChoiceField(label=_("Language of e-mails"), choices=LANGUAGE_CHOICES)


class RegistrationForm(PersonForm):
    institution = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Institution.objects.filter(status=Institution.Status.ACTIVE).order_by("name"),
        empty_label=_("— choose —"),
    )
    roles = forms.MultipleChoiceField(
        label=_("Requested roles"),
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common or entirely numeric password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    message = forms.CharField(
        label=_("Message to the approver"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why you need access, e.g. your tasks or the legal basis."),
    )

    field_order = [
        "institution",
        "roles",
        "first_name",
        "last_name",
        "email",
        "phone",
        "position",
        "password1",
        "password2",
        "message",
    ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("password1")
            and data.get("password2")
            and data["password1"] != data["password2"]
        ):
            self.add_error("password2", _("The two passwords do not match."))
        return data


class InstitutionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    short_name = forms.CharField(label=_("Short name"), max_length=50, required=False)
    registration_number = forms.CharField(
        label=_("Registration number"),
        max_length=20,
        help_text=_("11 digits, e.g. 90000000000."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Institution.Kind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=Institution.Status.choices)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["status"]


class UserForm(forms.Form):
    """A manager edits a user's personal data (and an administrator the administrator flag)."""

    first_name = forms.CharField(label=_("First name"), max_length=100)
    last_name = forms.CharField(label=_("Last name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"))
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
        help_text=_("For example +371 20000000."),
    )
    position = forms.CharField(label=_("Position"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language of e-mails"), choices=LANGUAGE_CHOICES)
    is_portal_admin = forms.BooleanField(label=_("Portal administrator"), required=False)
    personal_code = forms.CharField(
        label=_("Personal code (for the national login)"),
        max_length=20,
        required=False,
        help_text=_(
            "Only a keyed fingerprint is stored, never the code; leave empty to keep it as it is."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, can_set_admin: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_set_admin:
            del self.fields["is_portal_admin"]


class UserCreateForm(UserForm):
    institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.none(), required=False
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(
        self, *args: Any, institutions: QuerySet[Institution], can_set_admin: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, can_set_admin=can_set_admin, **kwargs)
        self.fields.pop("personal_code", None)  # set on the edit page
        del self.fields["language"]
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]  # fields[] is typed Field
        self.fields["institution"].required = not can_set_admin
        self.fields["institution"].empty_label = _("— none —") if can_set_admin else None  # type: ignore[attr-defined]  # fields[] is typed Field


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("New status"),
        choices=[(User.Status.ACTIVE, _("active")), (User.Status.BLOCKED, _("blocked"))],
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class RoleGrantForm(forms.Form):
    institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.none()
    )
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]  # fields[] is typed Field


class RoleRevokeForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles to grant"),
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(
        label=_("Note to the applicant"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, application: Application, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"roles": application.roles})
        super().__init__(*args, **kwargs)


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    institution = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Institution.objects.none(),
        required=False,
        empty_label=_("all"),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("all")), *User.Status.choices], required=False
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("all")), *ROLE_CHOICES], required=False
    )

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]  # fields[] is typed Field


class InstitutionFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("all")), *Institution.Kind.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("all")), *Institution.Status.choices], required=False
    )


class ApplicationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("all")), *Application.Status.choices],
        required=False,
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    target_type = forms.ChoiceField(label=_("Object type"), required=False)
    target = forms.CharField(label=_("Object"), required=False, help_text=_("Name or id"))
    actor = forms.CharField(label=_("Who"), required=False, help_text=_("Name, e-mail or id"))
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, actions: list[str], target_types: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        prefixes = sorted({a.rsplit(".", 1)[0] for a in actions if "." in a})
        self.fields["action"].choices = [  # type: ignore[attr-defined]  # fields[] is typed Field
            ("", _("all")),
            *((p, action_prefix_label(p)) for p in prefixes),
            *((a, action_label(a)) for a in actions),
        ]
        types = [("", _("all")), *((t, target_type_label(t)) for t in target_types)]
        self.fields["target_type"].choices = types  # type: ignore[attr-defined]  # fields[] is typed Field

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the period is before its start."))
        return data


# --- user management (DU-8) --------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=10,
        help_text=_("Enter the 6-digit code your authenticator app shows for DAGR."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ResetReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.none()
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, institutions: QuerySet[Institution], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]  # a ModelChoiceField


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords do not match."))
        return data
