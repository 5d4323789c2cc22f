from django.urls import path

from . import views, views_sync

app_name = "retrieval"

urlpatterns = [
    path("", views.viewer_index, name="index"),
    path("<int:pk>/", views.viewer_grant, name="grant"),
    path("sync/", views_sync.sync_config, name="sync_config"),
]
