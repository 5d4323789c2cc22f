from django.urls import path

from . import views

app_name = "opendata"
urlpatterns = [
    path("datasets/<slug:code>/", views.metadata_edit, name="metadata"),
    path("download/<slug:code>.csv", views.data_download, name="download"),
    path("datasets/<slug:code>/validate/", views.metadata_validate, name="validate"),
    path("datasets/<slug:code>/apply-template/", views.template_apply, name="apply_template"),
    path("datasets/<slug:code>/publish/", views.publish, name="publish"),
    path("templates/", views.templates_index, name="templates"),
    path("templates/<int:pk>/", views.template_edit, name="template"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
]
