from django.urls import path

from . import views

app_name = "connectors"

urlpatterns = [
    path("", views.connector_list, name="list"),
    path("new/", views.connector_create, name="create"),
    path("<int:pk>/", views.connector_detail, name="detail"),
    path("<int:pk>/edit/", views.connector_edit, name="edit"),
    path("<int:pk>/delete/", views.connector_delete, name="delete"),
    path("<int:pk>/dry-run/", views.connector_dry_run, name="dry_run"),
    path("<int:pk>/run/", views.connector_run_now, name="run_now"),
    path("<int:pk>/runs/<int:run_pk>/", views.run_detail, name="run"),
    path("<int:pk>/runs/<int:run_pk>/proposal/", views.run_proposal, name="proposal"),
    path("<int:pk>/runs/<int:run_pk>/progress/", views.run_progress, name="progress"),
    path("<int:pk>/runs/<int:run_pk>/log.csv", views.run_log_csv, name="log_csv"),
]
