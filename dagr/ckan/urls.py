from django.urls import path

from . import views

app_name = "ckan"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("institutions/<int:pk>/", views.portal_settings, name="settings"),
    path("datasets/<slug:code>/", views.publication, name="publication"),
    path("datasets/<slug:code>/withdraw/", views.withdraw, name="withdraw"),
]
