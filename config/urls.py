from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from config.api import api
from dagr.dashboard.views import metrics
from dagr.retrieval import fast

urlpatterns = [
    # The hot path, served by a hand-written view ahead of ninja (dagr/retrieval/fast.py).
    path("api/v1/data/<str:code>/records/<str:field>/<str:value>", fast.record_get),
    path("api/v1/", api.urls),
    path("metrics", metrics, name="metrics"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("dagr.accounts.urls")),
    path("catalog/", include("dagr.catalog.urls")),
    path("grants/", include("dagr.grants.urls")),
    path("connections/", include("dagr.connections.urls")),
    path("viewer/", include("dagr.retrieval.urls")),
    path("uploads/", include("dagr.uploads.urls")),
    path("record-sets/", include("dagr.monitoring.urls")),
    path("audit/", include("dagr.oversight.urls")),
    path("test-data/", include("dagr.anonymisation.urls")),
    path("notifications/", include("dagr.notifications.urls")),
    path("statistics/", include("dagr.dashboard.urls")),
    path("help/", include("dagr.knowledge.urls")),
    path("", include("dagr.portal.urls")),
]

handler400 = "dagr.portal.views.error_400"
handler403 = "dagr.portal.views.error_403"
handler404 = "dagr.portal.views.error_404"
handler500 = "dagr.portal.views.error_500"
