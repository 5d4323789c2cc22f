"""The OpenAPI document is 3.1 and valid; Swagger UI is served from our own static files."""

import re


def test_openapi_is_3_1_and_documents_problem_responses(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)


def test_swagger_ui_uses_no_external_assets(client):
    html = client.get("/api/v1/docs").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") for u in urls), urls
