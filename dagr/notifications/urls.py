from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("preferences/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<slug:kind>/<slug:language>/", views.template_edit, name="template_edit"),
    path(
        "templates/<slug:kind>/<slug:language>/preview/",
        views.template_preview,
        name="template_preview",
    ),
    path(
        "templates/<slug:kind>/<slug:language>/v<int:version>/",
        views.template_diff,
        name="template_diff",
    ),
    path(
        "templates/<slug:kind>/<slug:language>/v<int:version>/restore/",
        views.template_restore,
        name="template_restore",
    ),
    path("newsletters/", views.newsletter_list, name="newsletters"),
    path("newsletters/new/", views.newsletter_edit, name="newsletter_create"),
    path("newsletters/preview/", views.newsletter_preview, name="newsletter_preview"),
    path("newsletters/<int:pk>/", views.newsletter_detail, name="newsletter"),
    path("newsletters/<int:pk>/edit/", views.newsletter_edit, name="newsletter_edit"),
    path("newsletters/<int:pk>/progress/", views.newsletter_progress, name="newsletter_progress"),
]
