from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("glossary/", views.glossary, name="glossary"),
    path("get-access/", views.get_access, name="get_access"),
    path("healthz", views.healthz, name="healthz"),
]
