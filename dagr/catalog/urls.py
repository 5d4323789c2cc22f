from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.dataset_create, name="dataset_create"),
    path("<slug:code>/", views.dataset, name="dataset"),
    path("<slug:code>/schema.yaml", views.dataset_schema_yaml, name="dataset_schema_yaml"),
    path("<slug:code>/manage/", views.dataset_manage, name="dataset_manage"),
    path("<slug:code>/manage/metadata/", views.dataset_metadata, name="dataset_metadata"),
    path("<slug:code>/manage/schema/", views.dataset_schema, name="dataset_schema"),
    path("<slug:code>/manage/status/", views.dataset_status, name="dataset_status"),
]
