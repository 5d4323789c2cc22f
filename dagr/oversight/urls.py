from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("datasets/<slug:code>/", views.dataset_access, name="dataset_access"),
    path("who-read/", views.who_read, name="who_read"),
]
