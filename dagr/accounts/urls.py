from django.contrib.auth import views as auth_views
from django.urls import path

from dagr.permissions.access import class_view, public

from . import oidc, views

app_name = "accounts"
urlpatterns = [
    # login, logout, passwords
    path("login/", class_view(public, views.LoginView), name="login"),
    path("login/code/", views.login_code, name="login_code"),
    # national login (OpenID Connect), off unless configured
    path("oidc/login/", class_view(public, oidc.RequestView), name="oidc_login"),
    path("oidc/callback/", class_view(public, oidc.CallbackView), name="oidc_callback"),
    path("logout/", class_view(public, auth_views.LogoutView), name="logout"),
    path("password-reset/", class_view(public, views.PasswordResetView), name="password_reset"),
    path(
        "password-reset/sent/",
        class_view(
            public,
            auth_views.PasswordResetDoneView,
            template_name="accounts/password_reset_done.html",
        ),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        class_view(public, views.PasswordResetConfirmView),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        class_view(
            public,
            auth_views.PasswordResetCompleteView,
            template_name="accounts/password_reset_complete.html",
        ),
        name="password_reset_complete",
    ),
    path(
        "set-password/<uidb64>/<token>/",
        class_view(public, views.AccountSetupView),
        name="account_setup",
    ),
    # registration = an application
    path("register/", views.register, name="register"),
    path("register/sent/", views.register_done, name="register_done"),
    path("applications/", views.application_list, name="applications"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    # institutions
    path("institutions/", views.institution_list, name="institutions"),
    path("institutions/new/", views.institution_create, name="institution_create"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution"),
    path("institutions/<int:pk>/edit/", views.institution_edit, name="institution_edit"),
    # users and roles
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/status/", views.user_status, name="user_status"),
    path("users/<int:pk>/roles/grant/", views.user_role_grant, name="user_role_grant"),
    path("users/<int:pk>/roles/revoke/", views.user_role_revoke, name="user_role_revoke"),
    # my profile
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
    # two-factor authentication
    path("profile/two-factor/", views.two_factor, name="two_factor"),
    path("profile/two-factor/set-up/", views.two_factor_enrol, name="two_factor_enrol"),
    path(
        "profile/two-factor/recovery-codes/",
        views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("profile/two-factor/off/", views.two_factor_disable, name="two_factor_disable"),
    path("users/<int:pk>/two-factor/reset/", views.user_two_factor_reset, name="user_2fa_reset"),
    # invitations
    path("invitations/", views.invitation_list, name="invitations"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="invitation_resend"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    # periodic access reviews
    path("access-reviews/", views.access_review_list, name="access_reviews"),
    path("access-reviews/<int:institution_id>/", views.access_review, name="access_review"),
    path(
        "access-reviews/roles/<int:pk>/confirm/",
        views.access_review_confirm,
        name="access_review_confirm",
    ),
    path(
        "access-reviews/roles/<int:pk>/restore/",
        views.access_review_restore,
        name="access_review_restore",
    ),
    path(
        "access-reviews/roles/<int:pk>/remove/",
        views.access_review_remove,
        name="access_review_remove",
    ),
    # the administrative audit trail
    path("audit/", views.audit, name="audit"),
]
