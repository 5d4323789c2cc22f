# Stub: the accounts capability fills these views in.
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import path

from dagr.permissions.access import class_view, public


@public
def _todo(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse("todo")


app_name = "accounts"
urlpatterns = [
    path("login/", class_view(public, auth_views.LoginView), name="login"),
    path("logout/", class_view(public, auth_views.LogoutView), name="logout"),
    path("register/", _todo, name="register"),
    path("applications/<int:pk>/", _todo, name="application"),
    path("institutions/", _todo, name="institutions"),
    path("users/", _todo, name="users"),
    path("audit/", _todo, name="audit"),
]
