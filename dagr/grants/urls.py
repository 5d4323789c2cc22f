from django.urls import path

from . import views

app_name = "grants"

urlpatterns = [
    path("", views.grant_list, name="list"),
    path("request/", views.grant_request, name="request"),
    path("<int:pk>/", views.grant_detail, name="detail"),
    path("<int:pk>/approve/", views.grant_approve, name="approve"),
    path("<int:pk>/reject/", views.grant_reject, name="reject"),
    path("<int:pk>/revoke/", views.grant_revoke, name="revoke"),
]
