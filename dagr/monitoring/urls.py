from django.urls import path

from . import views, views_webhooks

app_name = "monitoring"

urlpatterns = [
    path("", views.record_set_list, name="list"),
    path("new/", views.record_set_create, name="create"),
    path("<int:pk>/", views.record_set_detail, name="detail"),
    path("<int:pk>/edit/", views.record_set_edit, name="edit"),
    path("<int:pk>/upload/", views.record_set_upload, name="upload"),
    path("<int:pk>/remove/", views.record_set_remove, name="remove"),
    path("<int:pk>/delete/", views.record_set_delete, name="delete"),
    path("<int:pk>/webhook/", views_webhooks.webhook, name="webhook"),
]
