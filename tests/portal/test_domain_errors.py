"""Domain errors escaping a page become the portal's own error pages (never a 500)."""

import pytest
from django.urls import path

from config import urls as project_urls
from dagr.core.errors import Conflict, NotFound, PermissionDenied
from dagr.permissions.access import public


@public
def raises_not_found(request):
    raise NotFound("Nav tādas datu kopas.")


@public
def raises_forbidden(request):
    raise PermissionDenied()


@public
def raises_conflict(request):
    raise Conflict("Datu kopa jau ir slēgta.")


urlpatterns = [
    path("nf/", raises_not_found),
    path("forbidden/", raises_forbidden),
    path("conflict/", raises_conflict),
    *project_urls.urlpatterns,
]


@pytest.mark.urls("tests.portal.test_domain_errors")
def test_domain_errors_become_error_pages(client):
    response = client.get("/nf/")
    assert response.status_code == 404
    assert "<h1>" in response.content.decode()
    assert client.get("/forbidden/").status_code == 403
    conflict = client.get("/conflict/")
    assert conflict.status_code == 409
    assert "Datu kopa jau ir slēgta." in conflict.content.decode()
