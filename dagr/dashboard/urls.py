from django.urls import path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.requests, name="requests"),
    path("datasets/", views.datasets, name="datasets"),
    path("recipients/", views.recipients, name="recipients"),
]
