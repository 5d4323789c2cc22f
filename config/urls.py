from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog, set_language

from config.api import api
from dagr.dashboard.views import metrics
from dagr.opendata import views as opendata_views
from dagr.retrieval import fast

urlpatterns = [
    # The hot path, served by a hand-written view ahead of ninja (dagr/retrieval/fast.py).
    path("api/v1/data/<str:code>/records/<str:field>/<str:value>", fast.record_get),
    path("api/v1/", api.urls),
    path("metrics", metrics, name="metrics"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("dagr.accounts.urls")),
    # The DCAT-AP catalogue, and RDF by content negotiation on a dataset's page (dagr/opendata).
    path("catalog.ttl", opendata_views.catalog_rdf, {"fmt": "ttl"}, name="dcat_catalog_ttl"),
    path(
        "catalog.jsonld", opendata_views.catalog_rdf, {"fmt": "jsonld"}, name="dcat_catalog_jsonld"
    ),
    path("catalog.rdf", opendata_views.catalog_rdf, {"fmt": "rdf"}, name="dcat_catalog_rdf"),
    # (not "new/": the catalogue's create page, matched before its "<code>/" too)
    re_path(r"^catalog/(?!new/$)(?P<code>[-a-zA-Z0-9_]+)/$", opendata_views.dataset_negotiated),
    path("catalog/", include("dagr.catalog.urls")),
    path("open-data/", include("dagr.opendata.urls")),
    path("grants/", include("dagr.grants.urls")),
    path("connections/", include("dagr.connections.urls")),
    path("viewer/", include("dagr.retrieval.urls")),
    path("uploads/", include("dagr.uploads.urls")),
    path("record-sets/", include("dagr.monitoring.urls")),
    path("audit/", include("dagr.oversight.urls")),
    path("test-data/", include("dagr.anonymisation.urls")),
    path("connectors/", include("dagr.connectors.urls")),
    path("notifications/", include("dagr.notifications.urls")),
    path("statistics/", include("dagr.dashboard.urls")),
    path("open-data-portal/", include("dagr.ckan.urls")),
    path("help/", include("dagr.knowledge.urls")),
    path("", include("dagr.portal.urls")),
]

handler400 = "dagr.portal.views.error_400"
handler403 = "dagr.portal.views.error_403"
handler404 = "dagr.portal.views.error_404"
handler500 = "dagr.portal.views.error_500"
