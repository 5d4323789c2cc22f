from django.urls import path

from . import views

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="list"),
    path("new/", views.connection_create, name="create"),
    path("<int:pk>/", views.connection_detail, name="detail"),
    path("<int:pk>/rotate/", views.connection_rotate, name="rotate"),
    path("<int:pk>/certificate/", views.connection_certificate, name="certificate"),
    path("<int:pk>/revoke/", views.connection_revoke, name="revoke"),
]
