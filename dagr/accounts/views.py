"""Portal pages of the accounts capability: login and passwords, registration as an application,
institutions, users and roles, one's own profile, and the administrative audit trail.

Views parse the form, call one service or selector and render or redirect. Services decide
permission on objects; a ``NotFound`` becomes 404, a ``PermissionDenied`` 403, any other domain
error a message on the form.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dagr.core.confirm import confirmation_page, confirmed
from dagr.core.errors import DomainError, RateLimited, reraise_access_error
from dagr.core.forms import form_add_domain_error
from dagr.core.ratelimit import client_ip
from dagr.permissions import rules
from dagr.permissions.access import ActorRequest, authenticated, public, requires

from . import (
    applications,
    forms,
    invitations,
    lifecycle,
    oidc,
    reviews,
    selectors,
    services,
    twofactor,
)
from .emails import account_setup_token_generator
from .middleware import SESSION_VERIFIED
from .models import Application, Membership, User

PAGE_SIZE = 50


def _page(request: HttpRequest, qs: Any) -> Page:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- login, logout, passwords ------------------------------------------------------------------


SESSION_PENDING = "dagr_2fa_pending"
PENDING_MAX_AGE_S = 300


def _finish_login(request: HttpRequest, user: User, *, verified: bool) -> None:
    auth_login(request, user)
    lifecycle.login_recorded(user=user)
    if verified:
        request.session[SESSION_VERIFIED] = True


class LoginView(auth_views.LoginView):
    """E-mail and password; a user with two-factor authentication on is asked for a code next
    (``login_code``) before the session is logged in."""

    template_name = "accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        return finish_external_login(self.request, form.get_user(), next_url=self.get_success_url())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["oidc_label"] = settings.DAGR_OIDC_LABEL if oidc.enabled() else ""
        return context


def finish_external_login(request: HttpRequest, user: User, *, next_url: str) -> HttpResponse:
    """After the first factor (password or national login): the code step for a user with
    two-factor authentication, else the login itself."""
    if twofactor.has_two_factor(user):
        request.session[SESSION_PENDING] = {
            "uid": user.pk,
            "backend": user.backend,
            "at": int(time.time()),
            "next": next_url,
        }
        return redirect("accounts:login_code")
    _finish_login(request, user, verified=False)
    return HttpResponseRedirect(next_url)


def _code_locked(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    retry_after = exc.retry_after
    response = render(
        request,
        "accounts/two_factor_locked.html",
        {"minutes": max(1, (retry_after + 59) // 60)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


@public
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of a login: the authenticator code (or a recovery code)."""
    pending = request.session.get(SESSION_PENDING)
    if not pending or int(time.time()) - int(pending.get("at", 0)) > PENDING_MAX_AGE_S:
        request.session.pop(SESSION_PENDING, None)
        messages.info(request, _("Log in again, please."))
        return redirect("accounts:login")
    user = User.objects.filter(pk=pending["uid"]).first()
    if user is None or not user.is_active:
        request.session.pop(SESSION_PENDING, None)
        return redirect("accounts:login")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kind = twofactor.code_verify(user=user, code=form.cleaned_data["code"])
        except RateLimited as exc:
            request.session.pop(SESSION_PENDING, None)
            return _code_locked(request, exc)
        except DomainError as exc:
            forms.add_domain_errors(form, exc)
        else:
            request.session.pop(SESSION_PENDING, None)
            user.backend = pending["backend"]
            _finish_login(request, user, verified=True)
            if kind == "recovery":
                messages.warning(
                    request,
                    _("You used a recovery code; %(n)s left. Make new ones on your profile page.")
                    % {"n": twofactor.recovery_codes_left(user)},
                )
            nxt = pending.get("next") or ""
            if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
                nxt = reverse(settings.LOGIN_REDIRECT_URL)
            return redirect(nxt)
    return render(request, "accounts/login_code.html", {"form": form})


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
            "has_two_factor": selectors.user_has_two_factor(actor=request.user, user=user),
            "can_reset_two_factor": rules.can_reset_two_factor(request.user, user),
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
        data = dict(form.cleaned_data)
        personal_code = data.pop("personal_code", "")
        try:
            with transaction.atomic():
                services.user_update(actor=request.user, user=user, **data)
                if personal_code:
                    services.user_set_personal_code(
                        actor=request.user, user=user, personal_code=personal_code
                    )
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


# --- two-factor authentication -----------------------------------------------------------------


@authenticated
def two_factor(request: ActorRequest) -> HttpResponse:
    """One's own two-factor page: status, set up, new recovery codes, turn off (if optional)."""
    user = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": twofactor.has_two_factor(user),
            "required": rules.requires_two_factor(user),
            "codes_left": twofactor.recovery_codes_left(user),
            "form": forms.CodeForm(),
        },
    )


@authenticated
def two_factor_enrol(request: ActorRequest) -> HttpResponse:
    user = request.user
    if twofactor.has_two_factor(user):
        return redirect("accounts:two_factor")
    form = forms.EnrolForm(request.POST or None)
    device = twofactor.pending_device(user)
    if request.method == "POST" and device is not None and form.is_valid():
        try:
            codes = twofactor.enrolment_confirm(user=user, code=form.cleaned_data["code"])
        except RateLimited as exc:
            return _code_locked(request, exc)
        except DomainError as exc:
            forms.add_domain_errors(form, exc)
        else:
            request.session[SESSION_VERIFIED] = True
            request.session.cycle_key()
            # the user's other sessions never passed a code step: they end now
            lifecycle.sessions_end(user_id=user.pk, keep=request.session.session_key)
            messages.success(request, _("Two-factor authentication is on."))
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    if device is None:
        device = twofactor.enrolment_start(user=user)
    uri = twofactor.provisioning_uri(user, device)
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "qr_svg": twofactor.qr_svg(uri),
            "secret": twofactor.device_secret(device),
            "required": rules.requires_two_factor(user),
        },
    )


@require_POST
@authenticated
def two_factor_recovery_codes(request: ActorRequest) -> HttpResponse:
    form = forms.CodeForm(request.POST)
    if form.is_valid():
        try:
            codes = twofactor.recovery_codes_regenerate(
                user=request.user, code=form.cleaned_data["code"]
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    return redirect("accounts:two_factor")


@require_POST
@authenticated
def two_factor_disable(request: ActorRequest) -> HttpResponse:
    form = forms.CodeForm(request.POST)
    if form.is_valid():
        try:
            twofactor.two_factor_disable(user=request.user, code=form.cleaned_data["code"])
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            request.session.pop(SESSION_VERIFIED, None)
            messages.success(request, _("Two-factor authentication is off."))
    return redirect("accounts:two_factor")


@require_POST
@authenticated
def user_two_factor_reset(request: ActorRequest, pk: int) -> HttpResponse:
    user = selectors.user_get(actor=request.user, pk=pk)
    if not rules.can_reset_two_factor(request.user, user):
        raise DjangoPermissionDenied
    form = forms.ResetReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if not confirmed(request):
        return confirmation_page(
            request,
            title=_("Reset the two-factor authentication of %(name)s?")
            % {"name": user.full_name or user.email},
            consequences=[
                _("The user's authenticator and recovery codes stop working at once."),
                _("The user's open sessions end; at the next login they set it up again."),
            ],
            undo=_("No: the user sets up a new authenticator."),
            button=_("Reset two-factor authentication"),
            cancel_url=reverse("accounts:user", args=[user.pk]),
            fields=[("reason", reason)],
        )
    try:
        twofactor.two_factor_reset(actor=request.user, user=user, reason=reason)
    except DomainError as exc:
        reraise_access_error(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The two-factor authentication has been reset."))
    return redirect("accounts:user", pk=user.pk)


# --- invitations -------------------------------------------------------------------------------


@requires(rules.can_invite)
def invitation_list(request: ActorRequest) -> HttpResponse:
    institutions = rules.manageable_institutions(request.user).order_by("name")
    form = forms.InvitationForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitations.invitation_create(
                actor=request.user,
                institution=data["institution"],
                email=data["email"],
                roles=data["roles"],
            )
        except DomainError as exc:
            reraise_access_error(exc)
            forms.add_domain_errors(form, exc)
        else:
            messages.success(request, _("The invitation has been sent."))
            return redirect("accounts:invitations")
    page = _page(request, selectors.invitation_list(actor=request.user))
    now = timezone.now()
    rows = [(inv, inv.status_at(now)) for inv in page.object_list]
    return render(
        request,
        "accounts/invitation_list.html",
        {"form": form, "page": page, "rows": rows, "query": _query_without_page(request)},
    )


@require_POST
@requires(rules.can_invite)
def invitation_resend(request: ActorRequest, pk: int) -> HttpResponse:
    try:
        invitations.invitation_resend(actor=request.user, pk=pk)
    except DomainError as exc:
        reraise_access_error(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The invitation has been sent again with a new link."))
    return redirect("accounts:invitations")


@require_POST
@requires(rules.can_invite)
def invitation_revoke(request: ActorRequest, pk: int) -> HttpResponse:
    try:
        invitations.invitation_revoke(actor=request.user, pk=pk)
    except DomainError as exc:
        reraise_access_error(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The invitation has been revoked."))
    return redirect("accounts:invitations")


_UNUSABLE_TEXT = {
    "expired": gettext_lazy(
        "This invitation has expired. Ask the person who invited you to send it again."
    ),
    "used": gettext_lazy("This invitation has already been used. Log in with your e-mail address."),
    "revoked": gettext_lazy("This invitation has been revoked."),
    "replaced": gettext_lazy(
        "A newer invitation has been sent to you: use the link in the latest e-mail."
    ),
    "invalid": gettext_lazy("This invitation link is not valid. Check that it was copied whole."),
}


@public
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitations.invitation_from_token(token)
    except invitations.InvitationUnusable as exc:
        return render(
            request,
            "accounts/invitation_unusable.html",
            {"text": _UNUSABLE_TEXT[exc.reason]},
            status=410 if exc.reason != "invalid" else 404,
        )
    form = forms.InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = invitations.invitation_accept(
                token=token,
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
            )
        except invitations.InvitationUnusable as exc:
            return render(
                request,
                "accounts/invitation_unusable.html",
                {"text": _UNUSABLE_TEXT[exc.reason]},
                status=410,
            )
        except DomainError as exc:
            forms.add_domain_errors(form, exc)
        else:
            if request.user.is_authenticated:
                auth_logout(request)
            user.backend = "dagr.accounts.backends.ActiveUserBackend"
            _finish_login(request, user, verified=False)
            messages.success(request, _("Welcome! Your account is ready."))
            if rules.requires_two_factor(user):
                return redirect("accounts:two_factor_enrol")
            return redirect("portal:dashboard")
    return render(
        request,
        "accounts/invitation_accept.html",
        {
            "form": form,
            "invitation": invitation,
            "needs_two_factor": Membership.Role.SIGNATORY in invitation.roles,
        },
    )


# --- access reviews ----------------------------------------------------------------------------


@requires(rules.can_review_some_access)
def access_review_list(request: ActorRequest) -> HttpResponse:
    return render(
        request,
        "accounts/access_review_list.html",
        {
            "reviews": reviews.reviews_for(request.user),
            "institutions": rules.manageable_institutions(request.user).order_by("name")[:200],
        },
    )


@authenticated
def access_review(request: ActorRequest, institution_id: int) -> HttpResponse:
    institution, review = reviews.review_get(actor=request.user, institution_id=institution_id)
    memberships = reviews.review_memberships(actor=request.user, institution=institution)
    rows = []
    for m in memberships:
        if m.status == Membership.Status.SUSPENDED:
            state = "suspended"
        elif review is not None and (
            (m.confirmed_at and m.confirmed_at >= review.opened_at)
            or m.created_at >= review.opened_at
        ):
            state = "confirmed"
        else:
            state = "open" if review is not None else "active"
        rows.append((m, state))
    return render(
        request,
        "accounts/access_review.html",
        {"institution": institution, "review": review, "rows": rows},
    )


def _review_action(request: ActorRequest, membership_pk: int, action: str) -> HttpResponse:
    m = Membership.objects.filter(pk=membership_pk).values_list("institution_id", flat=True).first()
    if m is None:
        raise Http404
    try:
        if action == "confirm":
            reviews.membership_confirm(actor=request.user, pk=membership_pk)
            messages.success(request, _("The role has been confirmed."))
        elif action == "restore":
            reviews.membership_restore(actor=request.user, pk=membership_pk)
            messages.success(request, _("The role has been restored."))
        else:
            reviews.membership_remove(actor=request.user, pk=membership_pk)
            messages.success(request, _("The role has been withdrawn."))
    except DomainError as exc:
        reraise_access_error(exc)
        messages.error(request, str(exc.message))
    return redirect("accounts:access_review", institution_id=m)


@require_POST
@authenticated
def access_review_confirm(request: ActorRequest, pk: int) -> HttpResponse:
    return _review_action(request, pk, "confirm")


@require_POST
@authenticated
def access_review_restore(request: ActorRequest, pk: int) -> HttpResponse:
    return _review_action(request, pk, "restore")


@require_POST
@authenticated
def access_review_remove(request: ActorRequest, pk: int) -> HttpResponse:
    m = Membership.objects.select_related("user", "institution").filter(pk=pk).first()
    if m is not None and not confirmed(request):
        if not rules.can_review_access_of(request.user, m.institution_id):
            raise Http404
        return confirmation_page(
            request,
            title=_("Withdraw the role of %(name)s?") % {"name": m.user.full_name or m.user.email},
            consequences=[
                _("%(role)s in %(institution)s is withdrawn at once.")
                % {"role": m.get_role_display(), "institution": m.institution.name}
            ],
            undo=_("The role can be granted again on the user's page."),
            button=_("Withdraw the role"),
            cancel_url=reverse("accounts:access_review", args=[m.institution_id]),
            fields=[],
        )
    return _review_action(request, pk, "remove")
