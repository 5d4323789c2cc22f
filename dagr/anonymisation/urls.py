from django.urls import path

from . import views

app_name = "anonymisation"

urlpatterns = [
    path("", views.test_data_index, name="index"),
    path("manage/<slug:code>/", views.test_data_settings, name="settings"),
    path("manage/<slug:code>/build/", views.release_create, name="build"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/progress/", views.release_progress, name="progress"),
    path("<slug:code>.csv", views.test_data_download, {"fmt": "csv"}, name="csv"),
    path("<slug:code>.xlsx", views.test_data_download, {"fmt": "xlsx"}, name="xlsx"),
    path("<slug:code>/", views.test_data_detail, name="detail"),
]
