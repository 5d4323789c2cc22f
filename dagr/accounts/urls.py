from django.contrib.auth import views as auth_views
from django.urls import path

from dagr.permissions.access import class_view, public

from . import views

app_name = "accounts"
urlpatterns = [
    # login, logout, passwords
    path("login/", class_view(public, views.LoginView), name="login"),
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
    # the administrative audit trail
    path("audit/", views.audit, name="audit"),
]
