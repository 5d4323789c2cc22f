from django.urls import path

from . import views

app_name = "uploads"

urlpatterns = [
    path("datasets/<slug:code>/", views.dataset_uploads, name="dataset"),
    path(
        "datasets/<slug:code>/export.csv", views.dataset_export, {"fmt": "csv"}, name="export_csv"
    ),
    path(
        "datasets/<slug:code>/export.xlsx",
        views.dataset_export,
        {"fmt": "xlsx"},
        name="export_xlsx",
    ),
    path("files/<int:pk>/", views.upload_detail, name="file"),
    path("files/<int:pk>/progress/", views.upload_progress, name="progress"),
    path("files/<int:pk>/confirm/", views.upload_confirm, name="confirm"),
    path("files/<int:pk>/cancel/", views.upload_cancel, name="cancel"),
    path("files/<int:pk>/download/", views.upload_download, name="download"),
    path("files/<int:pk>/delete/", views.upload_delete, name="delete"),
]
