from django.urls import path

from . import views

app_name = "retrieval"

urlpatterns = [
    path("", views.viewer_index, name="index"),
    path("<int:pk>/", views.viewer_grant, name="grant"),
]
