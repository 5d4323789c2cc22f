"""Portal pages of the accounts capability: login and passwords, registration as an application,
institutions, users and roles, one's own profile, and the administrative audit trail.

Views parse the form, call one service or selector and render or redirect. Services decide
permission on objects; a ``NotFound`` becomes 404, a ``PermissionDenied`` 403, any other domain
error a message on the form.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError, reraise_access_error
from dagr.core.forms import form_add_domain_error
from dagr.core.ratelimit import client_ip
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, public, requires

from . import applications, forms, selectors, services
from .emails import account_setup_token_generator
from .models import Application, User

PAGE_SIZE = 50


def _page(request: HttpRequest, qs: Any) -> Page:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- login, logout, passwords ------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = forms.PasswordResetForm
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        """Past the rate limit the answer is the same "if the address is known, a mail was sent"
        page, and no mail is sent: nothing tells whether the address exists or was limited."""
        if services.password_reset_mail_allowed(
            email=form.cleaned_data["email"], client_ip=client_ip(self.request)
        ):
            return super().form_valid(form)
        return redirect(self.get_success_url())

    @property
    def extra_email_context(self) -> dict[str, Any]:  # type: ignore[override]  # Django reads an attribute
        return {
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
            "site_url": settings.SITE_URL.rstrip("/"),
        }


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    title = gettext_lazy("Set a new password")
    form_class = forms.SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().form_valid(form)
            services.user_password_was_reset(user=form.user)
        return response


class AccountSetupView(PasswordResetConfirmView):
    """The link in the "account created" e-mail: the new user sets their first password."""

    title = gettext_lazy("Set your password")
    token_generator = account_setup_token_generator


# --- registration (an application) -------------------------------------------------------------


@public
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        messages.info(request, _("You already have an account."))
        return redirect("accounts:profile")
    form = forms.RegistrationForm(request.POST or None, initial=request.GET or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            applications.application_submit(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                position=data["position"],
                password=data["password1"],
                institution=data["institution"],
                roles=data["roles"],
                message=data["message"],
            )
        except DomainError as exc:
            forms.add_domain_errors(form, exc)
        else:
            return redirect("accounts:register_done")
    return render(request, "accounts/register.html", {"form": form})


@public
def register_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/register_done.html")


# --- applications ------------------------------------------------------------------------------


@requires(rules.can_manage_some_users)
def application_list(request: ActorRequest) -> HttpResponse:
    form = forms.ApplicationFilterForm(request.GET or {"status": Application.Status.PENDING})
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = _page(request, selectors.application_list(actor=request.user, status=status))
    return render(
        request,
        "accounts/application_list.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


@authenticated
def application_detail(request: ActorRequest, pk: int) -> HttpResponse:
    application = selectors.application_get(actor=request.user, pk=pk)
    form = forms.DecisionForm(request.POST or None, application=application)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "approve":
                applications.application_approve(
                    actor=request.user,
                    application=application,
                    roles=data["roles"],
                    note=data["note"],
                )
                messages.success(request, _("The application has been approved."))
            else:
                applications.application_reject(
                    actor=request.user, application=application, note=data["note"]
                )
                messages.success(request, _("The application has been rejected."))
        except DomainError as exc:
            reraise_access_error(exc)
            forms.add_domain_errors(form, exc)
        else:
            return redirect("accounts:application", pk=application.pk)
    return render(
        request, "accounts/application_detail.html", {"application": application, "form": form}
    )


# --- institutions ------------------------------------------------------------------------------


@requires(rules.can_manage_institutions)
def institution_list(request: ActorRequest) -> HttpResponse:
    form = forms.InstitutionFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = _page(request, selectors.institution_list(actor=request.user, **filters))
    return render(
        request,
        "accounts/institution_list.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


@requires(rules.can_manage_institutions)
def institution_create(request: ActorRequest) -> HttpResponse:
    form = forms.InstitutionForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            institution = services.institution_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            reraise_access_error(exc)
            forms.add_domain_errors(form, exc)
        else:
            messages.success(request, _("The institution has been created."))
            return redirect("accounts:institution", pk=institution.pk)
    return render(request, "accounts/institution_form.html", {"form": form, "institution": None})


@authenticated
def institution_detail(request: ActorRequest, pk: int) -> HttpResponse:
    institution = selectors.institution_get(actor=request.user, pk=pk)
    return render(
        request,
        "accounts/institution_detail.html",
        {
            "institution": institution,
            "members": selectors.institution_members(actor=request.user, institution=institution),
            "pending": selectors.application_list(
                actor=request.user, status=Application.Status.PENDING, institution_id=pk
            ),
        },
    )


@requires(rules.can_manage_institutions)
def institution_edit(request: ActorRequest, pk: int) -> HttpResponse:
    institution = selectors.institution_get(actor=request.user, pk=pk)
    initial = {f: getattr(institution, f) for f in services.INSTITUTION_FIELDS}
    form = forms.InstitutionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.institution_update(
                actor=request.user, institution=institution, **form.cleaned_data
            )
        except DomainError as exc:
            reraise_access_error(exc)
            forms.add_domain_errors(form, exc)
        else:
            messages.success(request, _("The changes have been saved."))
            return redirect("accounts:institution", pk=institution.pk)
    return render(
        request, "accounts/institution_form.html", {"form": form, "institution": institution}
    )


# --- users -------------------------------------------------------------------------------------


@requires(rules.can_manage_some_users)
def user_list(request: ActorRequest) -> HttpResponse:
    institutions = rules.manageable_institutions(request.user).order_by("name")
    form = forms.UserFilterForm(request.GET or None, institutions=institutions)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "q": data["q"],
            "institution_id": data["institution"].pk if data["institution"] else None,
            "status": data["status"],
            "role": data["role"],
        }
    page = _page(request, selectors.user_list(actor=request.user, **filters))
    return render(
        request,
        "accounts/user_list.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


@requires(rules.can_manage_some_users)
def user_create(request: ActorRequest) -> HttpResponse:
    can_set_admin = rules.can_set_portal_admin(request.user)
    form = forms.UserCreateForm(
        request.POST or None,
        institutions=rules.manageable_institutions(request.user).order_by("name"),
        can_set_admin=can_set_admin,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                actor=request.user,
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                position=data["position"],
                is_portal_admin=data.get("is_portal_admin", False),
                institution=data["institution"],
                roles=data["roles"],
            )
        except DomainError as exc:
            reraise_access_error(exc)
            forms.add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("The user has been created and has received an e-mail to set a password."),
            )
            return redirect("accounts:user", pk=user.pk)
    return render(request, "accounts/user_create.html", {"form": form})


@authenticated
def user_detail(request: ActorRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    grant_institutions = rules.manageable_institutions(request.user).order_by("name")
    memberships = selectors.user_memberships(actor=request.user, user=user)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "person": user,
            "memberships": [
                (m, rules.can_grant_role(request.user, user, m.institution)) for m in memberships
            ],
            "applications": selectors.user_applications(actor=request.user, user=user),
            "can_manage": rules.can_manage_user(request.user, user),
            "is_self": user.pk == request.user.pk,
            "grant_form": forms.RoleGrantForm(institutions=grant_institutions),
            "status_form": forms.StatusForm(initial={"status": user.status}),
            "audit": selectors.user_audit(actor=request.user, user=user),
        },
    )


@authenticated
def user_edit(request: ActorRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    if not rules.can_manage_user(request.user, user):
        raise DjangoPermissionDenied
    can_set_admin = rules.can_set_portal_admin(request.user)
    initial = {f: getattr(user, f) for f in (*services.USER_FIELDS, "is_portal_admin")}
    form = forms.UserForm(request.POST or None, initial=initial, can_set_admin=can_set_admin)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, **form.cleaned_data)
        except DomainError as exc:
            reraise_access_error(exc)
            forms.add_domain_errors(form, exc)
        else:
            messages.success(request, _("The changes have been saved."))
            return redirect("accounts:user", pk=user.pk)
    return render(request, "accounts/user_edit.html", {"form": form, "person": user})


@require_POST
@authenticated
def user_status(request: ActorRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    form = forms.StatusForm(request.POST)
    if form.is_valid():
        blocking = form.cleaned_data["status"] == User.Status.BLOCKED != user.status
        if blocking and not confirmed(request):
            return confirmation_page(
                request,
                title=_("Block %(name)s?") % {"name": user.full_name or user.email},
                consequences=[
                    _("The user can no longer log in; a session already open ends at once."),
                    _("The user's roles stay as they are, unused while the account is blocked."),
                ],
                undo=_(
                    "Yes: a portal administrator or a signatory contact person of the user's "
                    "institution can set the status back to “active”."
                ),
                button=_("Block the user"),
                cancel_url=reverse("accounts:user", args=[user.pk]),
                fields=[(name, str(value)) for name, value in form.cleaned_data.items()],
            )
        try:
            services.user_set_status(actor=request.user, user=user, **form.cleaned_data)
        except DomainError as exc:
            reraise_access_error(exc)
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The status has been changed."))
    else:
        messages.error(request, _("Choose a valid status."))
    return redirect("accounts:user", pk=user.pk)


@require_POST
@authenticated
def user_role_grant(request: ActorRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    form = forms.RoleGrantForm(
        request.POST, institutions=rules.manageable_institutions(request.user)
    )
    if form.is_valid():
        try:
            services.membership_grant(actor=request.user, user=user, **form.cleaned_data)
        except DomainError as exc:
            reraise_access_error(exc)
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The role has been granted."))
    else:
        messages.error(request, _("Choose an institution and a role."))
    return redirect("accounts:user", pk=user.pk)


@require_POST
@authenticated
def user_role_revoke(request: ActorRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    form = forms.RoleRevokeForm(request.POST)
    membership = None
    if form.is_valid():
        membership = (
            user.memberships.select_related("institution")
            .filter(pk=form.cleaned_data["membership"])
            .first()
        )
    if membership is None:
        messages.error(request, _("The user does not have this role."))
        return redirect("accounts:user", pk=user.pk)
    try:
        services.membership_revoke(
            actor=request.user,
            user=user,
            institution=membership.institution,
            role=membership.role,
        )
    except DomainError as exc:
        reraise_access_error(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The role has been withdrawn."))
    return redirect("accounts:user", pk=user.pk)


# --- my profile --------------------------------------------------------------------------------


@authenticated
def profile(request: ActorRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    initial = {f: getattr(user, f) for f in services.SELF_EDITABLE_USER_FIELDS}
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=user, user=user, **form.cleaned_data)
        except DomainError as exc:
            forms.add_domain_errors(form, exc)
        else:
            messages.success(request, _("The changes have been saved."))
            return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "memberships": selectors.user_memberships(actor=user, user=user)},
    )


@authenticated
def password_change(request: ActorRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_password(
                actor=user,
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except DomainError as exc:
            form_add_domain_error(form, exc, at_fields=True, aliases={"password": "new_password1"})
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


# --- the administrative audit trail ------------------------------------------------------------


@requires(rules.can_view_admin_audit)
def audit(request: ActorRequest) -> HttpResponse:
    choices = selectors.admin_audit_filter_choices(actor=request.user)
    form = forms.AuditFilterForm(
        request.GET or None, actions=choices["actions"], target_types=choices["target_types"]
    )
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "action": data["action"],
            "target_type": data["target_type"],
            "target": data["target"].strip(),
            "actor_filter": data["actor"].strip(),
            "date_from": data["date_from"],
            "date_to": data["date_to"],
        }
    page = _page(request, selectors.admin_audit_list(actor=request.user, **filters))
    return render(
        request,
        "accounts/audit.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )
